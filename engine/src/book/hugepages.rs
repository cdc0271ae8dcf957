//! Transparent huge pages for the engine's big tables.
//!
//! # Why
//!
//! The id index's direct array (64 MiB by default) and the order pool (48 MiB) are read at
//! random: an execute or delete names an order that may have rested for minutes. With 4 KiB
//! pages every such read can also miss the TLB, and a page walk costs as much as the cache
//! miss itself. Linux backs memory with 2 MiB pages where a program asks for them
//! (`/sys/kernel/mm/transparent_hugepage/enabled` is usually `madvise`), which cuts the pages
//! these tables span 512-fold. The advice changes how memory is backed, never its contents,
//! so it is applied silently and ignored where the kernel does not support it.
#![allow(unsafe_code, reason = "madvise is a foreign function; see the SAFETY note")]

/// Asks the kernel to back the whole 2 MiB pages inside `v`'s allocation with huge pages.
pub(crate) fn advise<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let bytes = v.capacity().saturating_mul(core::mem::size_of::<T>());
        let begin = start.div_ceil(HUGE) * HUGE;
        let end = (start + bytes) / HUGE * HUGE;
        if end > begin {
            // SAFETY: MADV_HUGEPAGE only changes how the kernel backs [begin, end), a range of
            // whole pages inside `v`'s own allocation; the memory stays valid and its contents
            // (zero or not) are unchanged. A failure (old kernel, THP disabled) is harmless.
            unsafe {
                libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
