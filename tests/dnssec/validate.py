#!/usr/bin/python3
# Independent DNSSEC validator for gslbd's tests, written on dnspython (Debian packages
# python3-dnspython and python3-cryptography; run it with /usr/bin/python3, which has them).
#
# Reads one JSON request on stdin:
#   {"server": "127.0.0.1", "port": 5353, "zone": "example.test.",
#    "anchor": {"dnskey": "257 3 13 BASE64"} or {"ds": "TAG 13 2 HEX"},
#    "time": UNIX_SECONDS (optional; validity is checked at this time, default now),
#    "queries": [{"name": "www.example.test.", "type": "A",
#                 "co": false, "ecs": "192.0.2.0/24", "tcp": false}, ...]}
# and writes one JSON object on stdout: {"keys": {...}, "results": [VERDICT, ...]}, one
# verdict per query, in order. A verdict:
#   valid      true when every check passed (errors is empty)
#   kind       answer | nodata | nxdomain | referral | error
#   rcode, aa, co_in_reply (the CO flag, 0x4000, in the reply's EDNS flags)
#   denial     for nodata/nxdomain, the shape of the NSEC proof:
#                compact         one NSEC at the name, next name \000.<name> (RFC 9824 and
#                                Knot's "black lies"), bitmap without the type
#                compact-nxname  the same with NXNAME (type 128): the name does not exist
#                nsec-at-name    an NSEC at the name with a real next name (classic NODATA)
#                empty-non-terminal  a covering NSEC whose next name is below the name
#                covering        classic NXDOMAIN: NSECs covering the name and *.<encloser>
#                wildcard-nodata an NSEC covering the name and one at *.<encloser> without
#                                the type
#   signed_as  for answers: existing (RRSIG labels = owner labels) or wildcard-expansion
#              (fewer labels; an NSEC proving the next closer name absent is required)
#   referral   for referrals: signed (a signed DS RRset) or insecure (an NSEC at the cut with
#              NS and without DS and SOA)
#   chain      the CNAME owners followed from the query name
#   errors, notes, answer, authority, additional (RRsets as text)
#
# Every RRset of ANSWER and AUTHORITY must carry an RRSIG by the zone's keys that validates at
# the given time, except the NS RRset of a referral (which must be unsigned). The zone's
# DNSKEY RRset is fetched from the server and must be signed by the trust anchor's key.
import json
import sys
import time

import dns.dnssec
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TYPE_NXNAME = 128
FLAG_CO = 0x4000
TIMEOUT = 3.0
IN = dns.rdataclass.IN
RRSIG = dns.rdatatype.RRSIG
NSEC = dns.rdatatype.NSEC


class Request:
    def __init__(self, req):
        self.server = req.get("server", "127.0.0.1")
        self.port = int(req["port"])
        self.zone = dns.name.from_text(req["zone"])
        self.anchor = req["anchor"]
        self.now = float(req["time"]) if req.get("time") is not None else time.time()


def ask(rq, name, rdtype, co=False, ecs=None, tcp=False):
    """One query with DO (and CO, ECS when asked), RD clear; UDP with TCP fallback on TC."""
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    options = []
    if ecs:
        addr, _, prefix = ecs.partition("/")
        options.append(dns.edns.ECSOption(addr, int(prefix) if prefix else None))
    q.use_edns(0, dns.flags.DO | (FLAG_CO if co else 0), 1232, options=options)
    if tcp:
        return dns.query.tcp(q, rq.server, timeout=TIMEOUT, port=rq.port)
    r, _ = dns.query.udp_with_fallback(q, rq.server, timeout=TIMEOUT, port=rq.port)
    return r


def bitmap(nsec):
    """The set of type numbers in an NSEC's type bit maps."""
    types = set()
    for window, bits in nsec.windows:
        for i, byte in enumerate(bits):
            for b in range(8):
                if byte & (0x80 >> b):
                    types.add(window * 256 + i * 8 + b)
    return types


def type_names(types):
    return " ".join(dns.rdatatype.to_text(t) for t in sorted(types))


def label_count(name):
    """RRSIG-style label count: the root label and a leading `*` do not count."""
    n = len(name) - 1
    if name.is_wild():
        n -= 1
    return n


def covers(owner, nxt, name):
    """Whether the NSEC owner -> nxt covers `name` strictly (canonical order, wrap at apex)."""
    if owner < nxt:
        return owner < name < nxt
    return name > owner or name < nxt


def successor(owner):
    return dns.name.Name((b"\x00",) + owner.labels)


def zone_keys(rq):
    """The zone's DNSKEY RRset, validated against the anchor; raises ValueError why not."""
    r = ask(rq, rq.zone, dns.rdatatype.DNSKEY)
    try:
        keys = r.find_rrset(r.answer, rq.zone, IN, dns.rdatatype.DNSKEY)
    except KeyError:
        raise ValueError(f"no DNSKEY RRset at {rq.zone} (rcode {dns.rcode.to_text(r.rcode())})")
    try:
        sigs = r.find_rrset(r.answer, rq.zone, IN, RRSIG, dns.rdatatype.DNSKEY)
    except KeyError:
        raise ValueError("the DNSKEY RRset has no RRSIG")
    if "dnskey" in rq.anchor:
        want = dns.rdata.from_text(IN, dns.rdatatype.DNSKEY, rq.anchor["dnskey"])
        anchored = [k for k in keys if k == want]
    else:
        ds = dns.rdata.from_text(IN, dns.rdatatype.DS, rq.anchor["ds"])
        anchored = [
            k for k in keys
            if dns.dnssec.key_id(k) == ds.key_tag and k.algorithm == ds.algorithm
            and dns.dnssec.make_ds(rq.zone, k, ds.digest_type) == ds
        ]
    if not anchored:
        raise ValueError(
            "no key of the DNSKEY RRset matches the trust anchor (tags "
            + ", ".join(str(dns.dnssec.key_id(k)) for k in keys) + ")")
    anchor_set = dns.rrset.from_rdata_list(rq.zone, keys.ttl, anchored)
    try:
        validate(keys, sigs, {rq.zone: anchor_set}, rq.now)
    except dns.dnssec.ValidationFailure as e:
        raise ValueError(f"the DNSKEY RRset is not signed by the anchored key: {e}")
    return keys


def validate(rrset, sigs, keys, now):
    """Validates `rrset` with any one RRSIG of `sigs`; raises ValidationFailure with every
    signature's reason (expired, not yet valid, unknown key, verify failure) otherwise."""
    reasons = []
    for sig in sigs:
        try:
            dns.dnssec.validate_rrsig(rrset, sig, keys, now=now)
            return
        except (dns.dnssec.ValidationFailure, dns.dnssec.UnsupportedAlgorithm) as e:
            reasons.append(f"key {sig.key_tag} alg {sig.algorithm}: {e}")
    raise dns.dnssec.ValidationFailure("; ".join(reasons) or "no RRSIG")


def rrsets_text(section):
    return [line for rrset in section for line in rrset.to_text().splitlines()]


def find(section, name, rdtype, covers_type=dns.rdatatype.NONE):
    for rrset in section:
        if rrset.name == name and rrset.rdtype == rdtype and rrset.covers == covers_type:
            return rrset
    return None


def check_signatures(rq, keys, r, section, label, referral_cut, out):
    """Every RRset of `section` signed by the zone's keys; returns {(owner, type): labels}."""
    labels = {}
    present = {(s.name, s.rdtype) for s in section if s.rdtype != RRSIG}
    for rrset in section:
        if rrset.rdtype == RRSIG:
            if (rrset.name, rrset.covers) not in present:
                out["errors"].append(
                    f"{label}: RRSIG {rrset.name} covers {dns.rdatatype.to_text(rrset.covers)}, "
                    "which is not in the section")
            continue
        if not rrset.name.is_subdomain(rq.zone):
            out["notes"].append(f"{label}: {rrset.name} is outside {rq.zone}; not validated")
            continue
        sigs = find(section, rrset.name, RRSIG, rrset.rdtype)
        what = f"{label}: {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"
        if referral_cut is not None and rrset.rdtype == dns.rdatatype.NS \
                and rrset.name == referral_cut:
            if sigs is not None:
                out["errors"].append(f"{what}: the NS RRset at a cut must not be signed")
            continue
        if sigs is None:
            out["errors"].append(f"{what} has no RRSIG")
            continue
        for sig in sigs:
            if sig.signer != rq.zone:
                out["errors"].append(f"{what}: RRSIG signer {sig.signer} is not {rq.zone}")
        try:
            validate(rrset, sigs, {rq.zone: keys}, rq.now)
        except dns.dnssec.ValidationFailure as e:
            out["errors"].append(f"{what}: no RRSIG validates ({e})")
            continue
        labels[(rrset.name, rrset.rdtype)] = min(s.labels for s in sigs)
    return labels


def nsecs_of(authority):
    return [(s.name, rd) for s in authority if s.rdtype == NSEC for rd in s]


def proves_absent(nsecs, name):
    """An NSEC covering `name`, or a compact NSEC at `name` with NXNAME."""
    for owner, rd in nsecs:
        if covers(owner, rd.next, name):
            return f"covered by the NSEC {owner} -> {rd.next}"
        if owner == name and TYPE_NXNAME in bitmap(rd):
            return f"NSEC at {owner} with NXNAME"
    return None


def closest_encloser(name, owner, nxt):
    """The longest ancestor of `name` that is an ancestor of (or equal to) owner or next."""
    best = dns.name.root
    for other in (owner, nxt):
        common = name.fullcompare(other)[2]
        if common > len(best):
            best = dns.name.Name(name.labels[-common:])
    return best


def denial(rq, q, r, final, qtype, nsecs, out):
    """Checks the NSEC proof of a negative answer about `final`; sets kind and denial."""
    rcode = r.rcode()
    co = bool(q.get("co"))
    soa = find(r.authority, rq.zone, dns.rdatatype.SOA)
    if soa is None:
        out["errors"].append(f"negative answer without the SOA of {rq.zone} in AUTHORITY")
    at = [(o, rd) for o, rd in nsecs if o == final]
    if at:
        owner, rd = at[0]
        types = bitmap(rd)
        compact = rd.next == successor(owner)
        if TYPE_NXNAME in types:
            out["kind"] = "nxdomain"
            out["denial"] = "compact-nxname"
            extra = types - {NSEC, RRSIG, TYPE_NXNAME}
            if extra:
                out["errors"].append(f"NXNAME NSEC at {owner} also lists {type_names(extra)}")
            if not compact:
                out["notes"].append(f"NXNAME NSEC at {owner} has next name {rd.next}")
            want = dns.rcode.NXDOMAIN if co else dns.rcode.NOERROR
            if rcode != want:
                out["errors"].append(
                    f"compact denial of a nonexistent name with CO {'set' if co else 'clear'} "
                    f"must have rcode {dns.rcode.to_text(want)}, got {dns.rcode.to_text(rcode)}")
            return
        out["kind"] = "nodata"
        out["denial"] = "compact" if compact else "nsec-at-name"
        if qtype in types:
            out["errors"].append(
                f"the NSEC at {owner} lists {dns.rdatatype.to_text(qtype)}: no denial")
        if dns.rdatatype.CNAME in types and qtype != dns.rdatatype.CNAME:
            out["errors"].append(f"the NSEC at {owner} lists CNAME: the CNAME is missing")
        if rcode != dns.rcode.NOERROR:
            out["errors"].append(f"NODATA proof with rcode {dns.rcode.to_text(rcode)}")
        return
    covering = [(o, rd) for o, rd in nsecs if covers(o, rd.next, final)]
    if not covering:
        out["kind"] = "nxdomain" if rcode == dns.rcode.NXDOMAIN else "nodata"
        out["errors"].append(f"no NSEC at or covering {final}: the denial is not proven")
        return
    owner, rd = covering[0]
    if rcode == dns.rcode.NOERROR and rd.next.is_subdomain(final) and rd.next != final:
        out["kind"] = "nodata"
        out["denial"] = "empty-non-terminal"
        return
    ce = closest_encloser(final, owner, rd.next)
    wildcard = dns.name.Name((b"*",) + ce.labels)
    at_wild = [(o, w) for o, w in nsecs if o == wildcard]
    if rcode == dns.rcode.NOERROR and at_wild:
        out["kind"] = "nodata"
        out["denial"] = "wildcard-nodata"
        if qtype in bitmap(at_wild[0][1]):
            out["errors"].append(f"the NSEC at {wildcard} lists {dns.rdatatype.to_text(qtype)}")
        return
    out["kind"] = "nxdomain"
    out["denial"] = "covering"
    if rcode != dns.rcode.NXDOMAIN:
        out["errors"].append(
            f"NSEC proof of a nonexistent name with rcode {dns.rcode.to_text(rcode)}")
    if not any(covers(o, w.next, wildcard) for o, w in nsecs):
        out["errors"].append(f"no NSEC covers the wildcard {wildcard}")


def check(rq, keys, q):
    name = dns.name.from_text(q["name"])
    qtype = dns.rdatatype.from_text(q["type"])
    out = {"query": q, "valid": False, "kind": "error", "denial": None, "signed_as": None,
           "referral": None, "chain": [], "errors": [], "notes": []}
    try:
        r = ask(rq, name, qtype, co=q.get("co", False), ecs=q.get("ecs"), tcp=q.get("tcp", False))
    except (dns.exception.DNSException, OSError) as e:
        out["errors"].append(f"no reply: {e!r}")
        return out
    rcode = r.rcode()
    out["rcode"] = dns.rcode.to_text(rcode)
    out["aa"] = bool(r.flags & dns.flags.AA)
    out["co_in_reply"] = bool(r.ednsflags & FLAG_CO)
    out["do_in_reply"] = bool(r.ednsflags & dns.flags.DO)
    out["answer"] = rrsets_text(r.answer)
    out["authority"] = rrsets_text(r.authority)
    out["additional"] = rrsets_text(r.additional)
    if keys is None:
        return out
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        out["errors"].append(f"rcode {dns.rcode.to_text(rcode)}")
        return out
    if not out["do_in_reply"]:
        out["errors"].append("the reply does not echo the DO bit")

    # Follow the CNAME chain from the query name through ANSWER.
    final = name
    positive = None
    for _ in range(16):
        positive = find(r.answer, final, qtype)
        if positive is not None:
            break
        cname = find(r.answer, final, dns.rdatatype.CNAME)
        if cname is None or qtype == dns.rdatatype.CNAME:
            break
        out["chain"].append(final.to_text())
        final = cname[0].target
    ns_cut = [s for s in r.authority
              if s.rdtype == dns.rdatatype.NS and s.name != rq.zone and final.is_subdomain(s.name)]
    soa = find(r.authority, rq.zone, dns.rdatatype.SOA)
    cut = ns_cut[0].name if (positive is None and ns_cut and soa is None) else None

    answer_labels = check_signatures(rq, keys, r, r.answer, "ANSWER", None, out)
    check_signatures(rq, keys, r, r.authority, "AUTHORITY", cut, out)
    # ADDITIONAL: glue may be unsigned; whatever is signed must validate.
    for rrset in r.additional:
        if rrset.rdtype in (RRSIG, dns.rdatatype.OPT):
            continue
        sigs = find(r.additional, rrset.name, RRSIG, rrset.rdtype)
        if sigs is not None:
            try:
                validate(rrset, sigs, {rq.zone: keys}, rq.now)
            except dns.dnssec.ValidationFailure as e:
                out["errors"].append(
                    f"ADDITIONAL: {rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: {e}")
    nsecs = nsecs_of(r.authority)

    if positive is not None or (out["chain"] and not final.is_subdomain(rq.zone)):
        out["kind"] = "answer"
        if rcode != dns.rcode.NOERROR:
            out["errors"].append(f"an answer with rcode {dns.rcode.to_text(rcode)}")
        expanded = [(o, t, lab) for (o, t), lab in answer_labels.items() if lab < label_count(o)]
        out["signed_as"] = "wildcard-expansion" if expanded else "existing"
        for owner, rdtype, lab in expanded:
            next_closer = dns.name.Name(owner.labels[-(lab + 2):])
            why = proves_absent(nsecs, next_closer)
            if why is None:
                out["errors"].append(
                    f"{owner} {dns.rdatatype.to_text(rdtype)} is a wildcard expansion "
                    f"(RRSIG labels {lab}) but no NSEC proves {next_closer} absent")
            else:
                out["notes"].append(f"wildcard expansion of *.{owner.parent()}; {next_closer} {why}")
    elif cut is not None:
        out["kind"] = "referral"
        if out["aa"]:
            out["errors"].append("a referral with AA set")
        ds = find(r.authority, cut, dns.rdatatype.DS)
        at = [rd for o, rd in nsecs if o == cut]
        if ds is not None:
            out["referral"] = "signed"
        elif at:
            types = bitmap(at[0])
            if dns.rdatatype.DS in types:
                out["referral"] = "ds-missing"
                out["errors"].append(
                    f"the NSEC at the cut {cut} lists DS but the referral has no DS RRset "
                    "(RFC 4035 3.1.4)")
            elif dns.rdatatype.SOA in types:
                out["errors"].append(f"the NSEC at the cut {cut} lists SOA")
            elif dns.rdatatype.NS not in types:
                out["errors"].append(f"the NSEC at the cut {cut} does not list NS")
            else:
                out["referral"] = "insecure"
        else:
            out["errors"].append(f"referral to {cut} with neither a DS RRset nor an NSEC at the cut")
    else:
        denial(rq, q, r, final, qtype, nsecs, out)
    out["valid"] = not out["errors"]
    return out


def main():
    req = json.load(sys.stdin)
    rq = Request(req)
    keys, key_error = None, None
    try:
        keys = zone_keys(rq)
    except (ValueError, dns.exception.DNSException, OSError) as e:
        key_error = f"DNSKEY of {rq.zone}: {e}"
    results = []
    for q in req["queries"]:
        v = check(rq, keys, q)
        if key_error:
            v["kind"] = "bogus"
            v["errors"].insert(0, key_error)
            v["valid"] = False
        results.append(v)
    summary = {"ok": keys is not None, "error": key_error,
               "tags": [dns.dnssec.key_id(k) for k in keys] if keys is not None else []}
    json.dump({"keys": summary, "results": results}, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
