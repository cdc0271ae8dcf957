//! How the engine's big tables are backed: transparent huge pages, and pre-faulting.
//!
//! # Huge pages
//!
//! The id index's direct array (64 MiB by default) and the order pool (48 MiB) are read at
//! random: an execute or delete names an order that may have rested for minutes. With 4 KiB
//! pages every such read can also miss the TLB, and a page walk costs as much as the cache
//! miss itself. Linux backs memory with 2 MiB pages where a program asks for them
//! (`/sys/kernel/mm/transparent_hugepage/enabled` is usually `madvise`), which cuts the pages
//! these tables span 512-fold. The advice changes how memory is backed, never its contents,
//! so it is applied silently and ignored where the kernel does not support it.
//!
//! # Pre-faulting
//!
//! A table allocated up front is only reserved address space: the kernel backs each page at
//! its first write, in a page fault on the thread that writes it. With huge pages that fault
//! zeroes 2 MiB: on the lent 2-vCPU machines 0.25-3.2 ms a fault (median 2.7 ms over 128
//! first touches of a fresh 256 MiB mapping; a 4 KiB fault 3.3 µs), most of it presumably
//! the hypervisor backing the guest's memory (`BENCHMARKS.md`, issue 3, twenty-second
//! session). That is a stall in the middle of an order's processing, and a matching core whose
//! pool fills during the day takes one per 43,690 new orders.
//! [`populate`] takes those faults at start-up instead (`EngineConfig::prefault`; `tickforge
//! serve` and the peer benchmarks set it): `MADV_POPULATE_WRITE` (Linux 5.14) where the kernel
//! has it, else a write to each page. The memory becomes resident at once (the pools' and the
//! index's full size), which is why the library's default leaves it off.
#![allow(
    unsafe_code,
    reason = "madvise is a foreign function, and pre-faulting writes raw pages; see the SAFETY notes"
)]

/// Bytes of a base page. Huge pages are whole multiples of it, so touching every base page
/// also faults every huge page.
const PAGE: usize = 4096;

/// The address range of `v`'s whole allocation (its capacity, not only its length).
fn allocation<T>(v: &Vec<T>) -> (usize, usize) {
    let start = v.as_ptr() as usize;
    (start, start + v.capacity().saturating_mul(core::mem::size_of::<T>()))
}

/// Asks the kernel to back the whole 2 MiB pages inside `v`'s allocation with huge pages.
pub(crate) fn advise<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let (start, end) = allocation(v);
        let begin = start.div_ceil(HUGE) * HUGE;
        let end = end / HUGE * HUGE;
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

/// Makes every page of `v`'s allocation (its spare capacity included) resident and writable,
/// so that no later write to it takes a page fault. Contents are unchanged.
pub(crate) fn populate<T>(v: &mut Vec<T>) {
    let (start, end) = allocation(v);
    if end <= start {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let begin = start / PAGE * PAGE;
        let len = end.div_ceil(PAGE) * PAGE - begin;
        // SAFETY: every page of [begin, begin + len) holds at least one byte of `v`'s
        // allocation, so the whole range is mapped memory of this process. MADV_POPULATE_WRITE
        // only faults the pages in as if written, without changing a byte (Linux docs: "does
        // not modify the page contents"); a kernel without it fails with EINVAL, and then
        // `touch_each_page` does the same work.
        let done = unsafe { libc::madvise(begin as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) } == 0;
        if done {
            return;
        }
    }
    touch_each_page(v);
}

/// [`populate`]'s fallback: a write to one byte of each page of `v`'s allocation.
fn touch_each_page<T>(v: &mut Vec<T>) {
    let (start, end) = allocation(v);
    let mut at = start;
    while at < end {
        let byte = at as *mut core::mem::MaybeUninit<u8>;
        // SAFETY: `at` is inside `v`'s allocation, which `&mut` gives us alone; the byte is
        // written back as read, as a `MaybeUninit` (the spare capacity is uninitialised), and
        // volatile so the write is not removed as a no-op.
        unsafe { byte.write_volatile(byte.read_volatile()) };
        at = (at / PAGE + 1) * PAGE;
    }
}

#[cfg(all(test, target_os = "linux"))]
pub(crate) mod tests {
    use super::*;

    /// How many of the base pages spanned by `v`'s allocation are resident (`mincore`).
    pub(crate) fn resident_pages<T>(v: &Vec<T>) -> (usize, usize) {
        let (start, end) = allocation(v);
        let begin = start / PAGE * PAGE;
        let pages = (end.div_ceil(PAGE) * PAGE - begin) / PAGE;
        let mut status = vec![0u8; pages];
        // SAFETY: [begin, begin + pages pages) is mapped (see `populate`), and `status` has
        // one byte per page, as mincore writes.
        let rc = unsafe { libc::mincore(begin as *mut libc::c_void, pages * PAGE, status.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        (status.iter().filter(|&&s| s & 1 != 0).count(), pages)
    }

    #[test]
    fn populate_makes_every_page_resident_and_keeps_the_contents() {
        // Large enough that the allocator maps it fresh (untouched pages), not from its heap.
        let mut v: Vec<u64> = Vec::with_capacity(8 << 20);
        v.extend(0..1000);
        let (before, pages) = resident_pages(&v);
        assert!(before < pages, "a fresh 64 MiB allocation is not resident yet ({before} of {pages})");
        populate(&mut v);
        assert_eq!(resident_pages(&v), (pages, pages));
        assert!(v.iter().copied().eq(0..1000), "contents unchanged");
        v.extend(1000..(8 << 20));
        assert_eq!(v[(8 << 20) - 1], (8 << 20) - 1);
    }

    #[test]
    fn the_fallback_touches_every_page_too() {
        let mut v: Vec<u32> = Vec::with_capacity(4 << 20);
        v.push(7);
        touch_each_page(&mut v);
        let (resident, pages) = resident_pages(&v);
        assert_eq!(resident, pages);
        assert_eq!(v, [7]);
    }

    #[test]
    fn an_engine_set_to_prefault_has_its_pools_resident() {
        use crate::{Engine, EngineConfig};
        let config =
            EngineConfig { max_orders: 1 << 18, max_levels: 1 << 14, dense_ids: 1 << 20, ..EngineConfig::default() };
        let lazy = Engine::new(config);
        let (resident, pages) = resident_pages(lazy.orders.vec());
        assert!(resident < pages, "without prefault the order pool is faulted in as it fills");
        let eager = Engine::new(EngineConfig { prefault: true, ..config });
        for (table, (resident, pages)) in
            [("orders", resident_pages(eager.orders.vec())), ("levels", resident_pages(eager.levels.vec()))]
        {
            assert_eq!(resident, pages, "{table}: every page resident");
        }
    }
}
