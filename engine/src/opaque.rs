//! [`opaque`]: a value the optimiser cannot see through, so that it compiles the code around
//! it as written.
//!
//! # Why
//!
//! `Engine::apply` tests a record's kind for the two commands of a matching flow (a new order,
//! a cancel) with a compare and a branch each, before the `match` over the other kinds. LLVM
//! merges such tests into the `match`'s jump table, whose indirect jump resolves only after a
//! second load (the table entry): when the kind is as unpredictable as the order flow (the
//! QuantCup feed, W3, is half cancels at random), every misprediction is found later and costs
//! more. Testing a copy of the kind that LLVM cannot relate to the `match`'s keeps the branches
//! (W3 8,654,175 -> 8,555,427 instructions under callgrind, and faster in 14 of 20 alternating
//! pairs of `exp w3 21`, about 5 % in the quiet ones; `BENCHMARKS.md`, issue 3, twenty-second
//! session).
//!
//! # How
//!
//! An empty `asm!` block that takes the value in a register and hands it back: no instruction,
//! no memory access (unlike [`std::hint::black_box`], which goes through the stack), but the
//! compiler must assume the value may have changed.
#![allow(unsafe_code, reason = "an empty asm! block; see the SAFETY note")]

/// `byte`, unchanged, but opaque to the optimiser (see the module docs).
#[inline(always)]
pub(crate) fn opaque(byte: u8) -> u8 {
    #[allow(unused_mut, reason = "mutated only by the asm! blocks of some targets")]
    let mut b = byte;
    // SAFETY: the template is a comment: no instruction runs, no memory or flag is touched, and
    // the register holds `b` unchanged on the way out; the options say exactly that.
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    unsafe {
        core::arch::asm!("/* {0} */", inout(reg_byte) b, options(pure, nomem, nostack, preserves_flags));
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("/* {0:w} */", inout(reg) b, options(pure, nomem, nostack, preserves_flags));
    }
    b
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_byte_comes_back_unchanged() {
        assert!((0..=u8::MAX).all(|b| super::opaque(b) == b));
    }
}
