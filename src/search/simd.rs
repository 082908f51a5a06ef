//! Runs the search's hot loops with the widest vectors the CPU has.
//!
//! The loops that are linear in the segment — facet popcounts and the first pass's
//! accumulation — are plain Rust. Built for the default target (x86-64 with SSE2) they
//! use 128-bit vectors; [`vectorized`] runs a kernel compiled again for AVX2 and for
//! AVX-512 and picks one by what the CPU reports at run time (pulp's dispatch: the crate
//! forbids `unsafe`, pulp holds the `target_feature` call). A binary built for one CPU
//! therefore still runs on any x86-64, unlike a `-C target-cpu` build.
//!
//! Only code inlined into the dispatched version gets the wider instructions. So a loop to
//! vectorize is a [`pulp::WithSimd`] whose `with_simd` — generic over the instruction set,
//! hence one copy per set — is `#[inline(always)]`, as is everything it calls in its loops.
//! (A closure would not do: its body is one function shared by the three versions, compiled
//! for the baseline.) The result does not depend on which version runs: the loops are
//! integer, or element-wise `f32` arithmetic without fused multiply-adds, so every lane
//! computes what the scalar code computes (the tests compare the dispatched and the scalar
//! versions, which differ only when built with optimisations: `cargo test --release`).

use std::sync::LazyLock;

/// The instruction set found at start (detected once: each check reads CPUID flags).
/// `OMNIKB_SIMD=baseline` (or `avx2`) caps it: to compare the versions on one machine with
/// one binary, or to keep AVX-512 off CPUs that slow their clock for it.
static ARCH: LazyLock<pulp::Arch> = LazyLock::new(|| {
    let best = pulp::Arch::new();
    match std::env::var("OMNIKB_SIMD").as_deref() {
        Ok("baseline") => pulp::Arch::Scalar,
        #[cfg(target_arch = "x86_64")]
        Ok("avx2") => match best {
            pulp::Arch::V4(_) => pulp::x86::V3::try_new().map_or(best, pulp::Arch::V3),
            _ => best,
        },
        Ok("") | Err(_) => best,
        Ok(other) => {
            tracing::warn!(
                value = other,
                "OMNIKB_SIMD is not `baseline` or `avx2`; using the best the CPU has"
            );
            best
        }
    }
});

/// Runs `op` compiled for the best instruction set this CPU has.
#[inline(always)]
pub(crate) fn vectorized<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    ARCH.dispatch(op)
}

/// Runs `op` like [`vectorized`], but where that would be AVX-512 and the CPU also has the
/// vector popcount (`VPOPCNTQ`, Ice Lake and Zen 4 onwards), compiled with it too: facet
/// counting is a popcount per 64-bit word, which AVX-512 alone does with a nibble table in
/// six instructions. Measured on the 100,000-document bench: facets ~28 µs -> ~20 µs.
#[inline(always)]
pub(crate) fn vectorized_with_popcount<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    #[cfg(target_arch = "x86_64")]
    if let (pulp::Arch::V4(v4), Some(token)) = (*ARCH, *V4_POPCNT) {
        return token.vectorize(WithV4(op, v4));
    }
    vectorized(op)
}

#[cfg(target_arch = "x86_64")]
pulp::simd_type! {
    /// pulp's AVX-512 set (`pulp::x86::V4`) plus the vector popcount. A token of it exists
    /// only where the CPU has all of these; pulp's macro holds the `target_feature` call.
    struct V4Popcnt {
        pub sse: "sse",
        pub sse2: "sse2",
        pub fxsr: "fxsr",
        pub sse3: "sse3",
        pub ssse3: "ssse3",
        pub sse4_1: "sse4.1",
        pub sse4_2: "sse4.2",
        pub popcnt: "popcnt",
        pub avx: "avx",
        pub avx2: "avx2",
        pub bmi1: "bmi1",
        pub bmi2: "bmi2",
        pub fma: "fma",
        pub lzcnt: "lzcnt",
        pub avx512f: "avx512f",
        pub avx512bw: "avx512bw",
        pub avx512cd: "avx512cd",
        pub avx512dq: "avx512dq",
        pub avx512vl: "avx512vl",
        pub avx512vpopcntdq: "avx512vpopcntdq",
    }
}

#[cfg(target_arch = "x86_64")]
static V4_POPCNT: LazyLock<Option<V4Popcnt>> = LazyLock::new(V4Popcnt::try_new);

/// A kernel run inside [`V4Popcnt`]'s features (it is inlined there, so its loops are
/// compiled with them), given the AVX-512 token its generic code expects.
#[cfg(target_arch = "x86_64")]
struct WithV4<Op>(Op, pulp::x86::V4);

#[cfg(target_arch = "x86_64")]
impl<Op: pulp::WithSimd> pulp::NullaryFnOnce for WithV4<Op> {
    type Output = Op::Output;

    #[inline(always)]
    fn call(self) -> Op::Output {
        self.0.with_simd(self.1)
    }
}

/// Runs `op` without the wider instruction sets: the reference the tests compare against.
#[cfg(test)]
pub(crate) fn scalar<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    pulp::Arch::Scalar.dispatch(op)
}

/// Which instruction set [`vectorized`] uses, for the log at start and the benchmarks.
pub fn instruction_set() -> &'static str {
    match *ARCH {
        #[cfg(target_arch = "x86_64")]
        pulp::Arch::V4(_) if V4_POPCNT.is_some() => "avx512 (+vpopcntdq)",
        #[cfg(target_arch = "x86_64")]
        pulp::Arch::V4(_) => "avx512",
        #[cfg(target_arch = "x86_64")]
        pulp::Arch::V3(_) => "avx2",
        #[cfg(target_arch = "aarch64")]
        pulp::Arch::Neon(_) => "neon",
        #[allow(unreachable_patterns)]
        _ => "baseline",
    }
}
