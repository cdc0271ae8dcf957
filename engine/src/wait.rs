//! How a stage waits when its input ring is empty or its output ring is full.
//!
//! - [`WaitStrategy::BusySpin`]: spin with the CPU's pause hint; lowest latency, burns its core.
//!   Only for a stage that has a core to itself.
//! - [`WaitStrategy::SpinThenYield`]: spin a little, then `yield_now` each round: two stages
//!   sharing a core hand it to each other in microseconds instead of spinning out the
//!   scheduler's time slice (milliseconds; see `shared/docs/performance.md`).
//! - [`WaitStrategy::SpinThenPark`]: spin, yield, then sleep in short parks: for stages that
//!   are idle most of the time (a gateway between bursts), at the price of wake-up latency.

use std::time::Duration;

/// A waiting policy; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Spin with `spin_loop`.
    BusySpin,
    /// Spin `spins` times, then yield the core on every further wait.
    SpinThenYield {
        /// Spins before the first yield.
        spins: u32,
    },
    /// Spin, then yield `yields` times, then park for `park` at a time.
    SpinThenPark {
        /// Spins before yielding.
        spins: u32,
        /// Yields before parking.
        yields: u32,
        /// How long each park lasts.
        park: Duration,
    },
}

impl WaitStrategy {
    /// Spin-then-yield with a short spin.
    pub const YIELDING: WaitStrategy = WaitStrategy::SpinThenYield { spins: 64 };
    /// Spin-then-park for idle stages.
    pub const PARKING: WaitStrategy =
        WaitStrategy::SpinThenPark { spins: 64, yields: 64, park: Duration::from_micros(50) };

    /// Whether this strategy keeps its core busy while waiting.
    pub fn is_busy(&self) -> bool {
        matches!(self, WaitStrategy::BusySpin)
    }

    /// The strategy's name as the CLI shows it.
    pub fn name(&self) -> &'static str {
        match self {
            WaitStrategy::BusySpin => "busy-spin",
            WaitStrategy::SpinThenYield { .. } => "spin-then-yield",
            WaitStrategy::SpinThenPark { .. } => "spin-then-park",
        }
    }
}

/// The state of one wait: call [`Waiter::wait`] each time there is nothing to do and
/// [`Waiter::reset`] after doing something.
#[derive(Debug, Clone)]
pub struct Waiter {
    strategy: WaitStrategy,
    rounds: u32,
}

impl Waiter {
    /// A waiter following `strategy`.
    pub fn new(strategy: WaitStrategy) -> Waiter {
        Waiter { strategy, rounds: 0 }
    }

    /// Work was found: the next wait starts from the beginning.
    #[inline]
    pub fn reset(&mut self) {
        self.rounds = 0;
    }

    /// Waits once, escalating with each call since the last reset.
    #[inline]
    pub fn wait(&mut self) {
        self.rounds = self.rounds.saturating_add(1);
        match self.strategy {
            WaitStrategy::BusySpin => core::hint::spin_loop(),
            WaitStrategy::SpinThenYield { spins } => {
                if self.rounds <= spins {
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            WaitStrategy::SpinThenPark { spins, yields, park } => {
                if self.rounds <= spins {
                    core::hint::spin_loop();
                } else if self.rounds <= spins + yields {
                    std::thread::yield_now();
                } else {
                    std::thread::park_timeout(park);
                }
            }
        }
    }
}
