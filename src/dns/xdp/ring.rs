//! One AF_XDP ring mapped from the kernel: a single-producer single-consumer queue of
//! descriptors (frame addresses for the fill and completion rings, `xdp_desc` for receive
//! and transmit) with producer and consumer indices shared with the kernel.
//!
//! This side is either the producer (fill, transmit) or the consumer (receive, completion).
//! Indices run freely and wrap; `mask` picks the slot. The producer writes descriptors, then
//! publishes its index with release ordering; the consumer reads the index with acquire
//! ordering before reading descriptors (the kernel's side does the same, see
//! Documentation/networking/af_xdp.rst).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

/// A shared memory mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is owned memory; access is synchronised by the ring protocol (the
// owner is one worker thread) and the kernel.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` at `offset` (a ring), or anonymous memory when `fd` is
    /// `None` (the UMEM).
    pub fn new(fd: Option<&OwnedFd>, offset: i64, len: usize) -> io::Result<Self> {
        let (flags, raw) = match fd {
            Some(fd) => (libc::MAP_SHARED | libc::MAP_POPULATE, fd.as_raw_fd()),
            None => (
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
            ),
        };
        // SAFETY: a fresh mapping chosen by the kernel; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                raw,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A ring of `T` (u64 frame addresses or `libc::xdp_desc`).
pub struct Ring<T> {
    _map: Mapping,
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut T,
    mask: u32,
    size: u32,
    /// Our copy of the index we own, and the last seen value of the other one.
    cached_prod: u32,
    cached_cons: u32,
}

// SAFETY: see `Mapping`; a ring is used by one thread at a time.
unsafe impl<T> Send for Ring<T> {}

impl<T: Copy> Ring<T> {
    /// The ring of `size` entries (a power of two) mapped from `fd` at `pgoff`, with the
    /// kernel's offsets of its fields.
    pub fn map(
        fd: &OwnedFd,
        pgoff: i64,
        off: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<Self> {
        let len = off.desc as usize + size as usize * std::mem::size_of::<T>();
        let map = Mapping::new(Some(fd), pgoff, len)?;
        let base = map.as_ptr();
        // SAFETY: the offsets come from the kernel (XDP_MMAP_OFFSETS) and lie inside the
        // mapping; the indices are 4-byte aligned u32 the kernel updates atomically.
        let ring = unsafe {
            let producer = base.add(off.producer as usize).cast::<AtomicU32>();
            let consumer = base.add(off.consumer as usize).cast::<AtomicU32>();
            Ring {
                producer,
                consumer,
                flags: base.add(off.flags as usize).cast::<AtomicU32>(),
                descs: base.add(off.desc as usize).cast::<T>(),
                mask: size - 1,
                size,
                cached_prod: (*producer).load(Ordering::Relaxed),
                cached_cons: (*consumer).load(Ordering::Relaxed),
                _map: map,
            }
        };
        Ok(ring)
    }

    fn flags(&self) -> u32 {
        // SAFETY: see `map`.
        unsafe { (*self.flags).load(Ordering::Relaxed) }
    }

    /// Whether the kernel asks to be woken (XDP_USE_NEED_WAKEUP).
    pub fn needs_wakeup(&self) -> bool {
        self.flags() & libc::XDP_RING_NEED_WAKEUP != 0
    }

    // --- producer side (fill, transmit) ---

    /// Room for up to `want` entries: how many can be written from `cached_prod` on.
    pub fn free(&mut self, want: u32) -> u32 {
        let mut free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        if free < want {
            // SAFETY: see `map`.
            self.cached_cons = unsafe { (*self.consumer).load(Ordering::Acquire) };
            free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        }
        free.min(want)
    }

    /// Writes entry `i` past the published producer index (`i` below what `free` gave).
    pub fn write(&mut self, i: u32, value: T) {
        let slot = self.cached_prod.wrapping_add(i) & self.mask;
        // SAFETY: `slot` is within the ring; the kernel does not read it before `submit`.
        unsafe { self.descs.add(slot as usize).write(value) };
    }

    /// Publishes `n` written entries to the kernel.
    pub fn submit(&mut self, n: u32) {
        self.cached_prod = self.cached_prod.wrapping_add(n);
        // SAFETY: see `map`.
        unsafe { (*self.producer).store(self.cached_prod, Ordering::Release) };
    }

    // --- consumer side (receive, completion) ---

    /// How many entries, up to `want`, are ready to be read from `cached_cons` on.
    pub fn ready(&mut self, want: u32) -> u32 {
        let mut ready = self.cached_prod.wrapping_sub(self.cached_cons);
        if ready == 0 {
            // SAFETY: see `map`.
            self.cached_prod = unsafe { (*self.producer).load(Ordering::Acquire) };
            ready = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        ready.min(want)
    }

    /// Reads entry `i` past the consumer index (`i` below what `ready` gave).
    pub fn read(&self, i: u32) -> T {
        let slot = self.cached_cons.wrapping_add(i) & self.mask;
        // SAFETY: the kernel published this slot (acquire in `ready`) and will not reuse it
        // before `release`.
        unsafe { self.descs.add(slot as usize).read() }
    }

    /// Gives `n` read entries back to the kernel.
    pub fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        // SAFETY: see `map`.
        unsafe { (*self.consumer).store(self.cached_cons, Ordering::Release) };
    }
}
