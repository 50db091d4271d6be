// SPDX-License-Identifier: MIT OR GPL-2.0
//
// gslbd's XDP program: steers UDP datagrams addressed to one of gslbd's listen addresses
// (address and port, or any address and the port) into the AF_XDP socket of the receive
// queue they arrived on, and passes every other packet to the kernel unchanged: ARP, ICMP,
// TCP, other UDP, IPv4 with options or fragments, IPv6 with extension headers, VLAN-tagged
// frames. A queue without a socket in `xsks` passes too (bpf_redirect_map's fallback).
//
// Built with clang (Debian: clang, libbpf-dev) by scripts/build-bpf, which writes
// steer.bpf.o next to this file; the object is committed so that building gslbd needs no
// clang, and tests/xdp_program.rs checks that it is the build of this source.
// Built with: Debian clang version 14.0.6

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// A listen address: family 4 or 6, the address (IPv4 in the first 4 bytes; all zero for
// "any address of that family") and the UDP port, in network byte order. 20 bytes, no
// padding: src/dns/xdp/program.rs writes the same layout.
struct listen_key {
	__u8 addr[16];
	__u16 port;
	__u16 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct listen_key);
	__type(value, __u8);
} listen SEC(".maps");

SEC("xdp")
int steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct listen_key key = {};
	struct udphdr *udp;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		// No options (the reply reuses the header's room), no fragment, UDP.
		if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		udp = (void *)(ip + 1);
		key.family = 4;
		__builtin_memcpy(key.addr, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		if (ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
		key.family = 6;
		__builtin_memcpy(key.addr, &ip6->daddr, 16);
	} else {
		return XDP_PASS;
	}
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	key.port = udp->dest;
	if (!bpf_map_lookup_elem(&listen, &key)) {
		__builtin_memset(key.addr, 0, sizeof(key.addr));
		if (!bpf_map_lookup_elem(&listen, &key))
			return XDP_PASS;
	}
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
