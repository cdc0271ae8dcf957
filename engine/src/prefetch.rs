//! Cache prefetch hints. The matching loop walks a price level's FIFO with [`prefetch`]: while
//! one resting order is being filled, the next one's cache line is requested, so a long queue of
//! old (cold) orders costs one memory latency at a time instead of one per order in series. The
//! ring uses both hints: `pop_with` reads the slots a few records ahead of the one it hands out,
//! and `push` asks to own the lines a few ahead of the slot it writes ([`prefetch_write`]).
#![allow(unsafe_code, reason = "the prefetch intrinsic is unsafe to call; see the SAFETY note")]

/// Hints the CPU to load the cache line holding `*p`. Never dereferences `p`.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it does not access memory architecturally and cannot fault,
    // whatever the address; SSE is part of the x86_64 baseline, so the target feature is present.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Whether this CPU has PREFETCHW (CPUID leaf 0x8000_0001, ECX bit 8), which
/// [`prefetch_write`] needs. Asked once; every x86-64 CPU of the last decade has it.
pub(crate) fn write_hint_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS_PREFETCHW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS_PREFETCHW.get_or_init(|| {
            use core::arch::x86_64::__cpuid;
            __cpuid(0x8000_0000).eax >= 0x8000_0001 && (__cpuid(0x8000_0001).ecx >> 8) & 1 == 1
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Hints the CPU to fetch the cache line holding `*p` for writing (PREFETCHW): the line
/// arrives owned, so the store that follows does not wait for another core to give it up.
/// Never dereferences `p`.
///
/// # Safety
///
/// The CPU must have PREFETCHW ([`write_hint_supported`]); elsewhere the opcode may be
/// undefined.
#[cfg_attr(loom, allow(dead_code, reason = "the ring's loom build leaves the hint out"))]
#[inline(always)]
pub(crate) unsafe fn prefetch_write<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller guarantees the CPU has PREFETCHW; it is a hint that does not change
    // memory and cannot fault, whatever the address.
    unsafe {
        core::arch::asm!("prefetchw byte ptr [{0}]", in(reg) p, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
