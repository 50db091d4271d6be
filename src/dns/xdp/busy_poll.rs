//! Preferred busy polling on the AF_XDP sockets (`--xdp-busy-poll`): the worker thread runs
//! the interface's receive processing itself each time it waits or sends, instead of the
//! kernel's softirq or NAPI thread waking it per batch, as the kernel's documentation
//! advises for AF_XDP under load (Documentation/networking/napi.rst). It wants the
//! interface's `napi_defer_hard_irqs` and `gro_flush_timeout` set, which gslbd checks and
//! names but does not change: they belong to the machine's operator.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

/// Packets one busy poll may take from the driver (the worker's batch).
const BUDGET: libc::c_int = 64;

/// Sets SO_PREFER_BUSY_POLL, SO_BUSY_POLL (`usecs`) and SO_BUSY_POLL_BUDGET on `fd`. The
/// first two need CAP_NET_ADMIN.
pub fn enable(fd: BorrowedFd<'_>, usecs: u32) -> io::Result<()> {
    let usecs = libc::c_int::try_from(usecs).unwrap_or(libc::c_int::MAX);
    for (name, value) in [
        (libc::SO_PREFER_BUSY_POLL, 1),
        (libc::SO_BUSY_POLL, usecs),
        (libc::SO_BUSY_POLL_BUDGET, BUDGET),
    ] {
        super::socket::set_at(fd, libc::SOL_SOCKET, name, &value)?;
    }
    Ok(())
}

/// What the interface still needs for preferred busy polling to hold its receive
/// processing back between the worker's polls, as commands to run; empty when it is set.
/// `sys` is the interface's sysfs directory (`/sys/class/net/IFACE`).
pub fn interface_advice(sys: &Path) -> Vec<String> {
    let mut advice = Vec::new();
    for (file, suggested) in [
        ("napi_defer_hard_irqs", "2"),
        ("gro_flush_timeout", "200000"),
    ] {
        let path = sys.join(file);
        let set = std::fs::read_to_string(&path)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|v| v > 0);
        if !set {
            advice.push(format!("echo {suggested} > {}", path.display()));
        }
    }
    advice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_names_what_is_unset() {
        let dir = tempfile::tempdir().unwrap();
        let all = interface_advice(dir.path());
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].starts_with("echo 2 > ") && all[0].ends_with("/napi_defer_hard_irqs"));
        assert!(all[1].starts_with("echo 200000 > ") && all[1].ends_with("/gro_flush_timeout"));
        std::fs::write(dir.path().join("napi_defer_hard_irqs"), "2\n").unwrap();
        std::fs::write(dir.path().join("gro_flush_timeout"), "0\n").unwrap();
        let left = interface_advice(dir.path());
        assert_eq!(left.len(), 1);
        assert!(left[0].ends_with("/gro_flush_timeout"), "{left:?}");
        std::fs::write(dir.path().join("gro_flush_timeout"), "200000\n").unwrap();
        assert!(interface_advice(dir.path()).is_empty());
    }
}
