//! Facts about the machine the library runs on, shared by the modules that size their memory
//! use by it (the decode budget, the reference-set copy limit).

/// Installed physical memory in bytes, when the platform says.
pub(crate) fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration; it has no preconditions and returns
        // -1 for an unknown name.
        let (pages, page_size) =
            unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        let pages = u64::try_from(pages).ok().filter(|&p| p > 0)?;
        let page_size = u64::try_from(page_size).ok().filter(|&p| p > 0)?;
        pages.checked_mul(page_size)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn physical_memory_is_known_on_unix() {
        assert!(super::physical_memory().is_some_and(|m| m >= 1 << 24));
    }
}
