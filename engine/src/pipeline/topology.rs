//! Which core each stage runs on, and how it waits.
//!
//! `feed=0,matching=1,gateway=0` pins the feed and gateway stages to core 0 and matching to
//! core 1. When the feed and the gateway are given the same core they run as **one I/O
//! thread** polling both (see `stages`), which busy-spins if nothing else is on that core;
//! `separate` in the spec keeps them two threads. Threads that share a core never busy-spin:
//! two spinners on one core cost a scheduler time slice (milliseconds) per handoff, so a shared
//! core gets spin-then-yield. The default adapts to the machine: with 3 or more cores every
//! stage has its own and busy-spins; with 2, matching gets core 1 and the I/O thread core 0,
//! both busy-spinning; with 1, everything shares it.

use crate::wait::WaitStrategy;

/// The three stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Capture reader / order-entry input.
    Feed,
    /// The sequencer and matching core.
    Matching,
    /// Output: sessions, market data, latency recording.
    Gateway,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 3] = [Stage::Feed, Stage::Matching, Stage::Gateway];

    /// The stage's name as `--pin` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Feed => "feed",
            Stage::Matching => "matching",
            Stage::Gateway => "gateway",
        }
    }
}

/// Placement of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Core to pin to (`None`: not pinned).
    pub core: Option<usize>,
    /// How it waits.
    pub wait: WaitStrategy,
}

/// Placement of every stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topology {
    /// Indexed by `Stage as usize`.
    pub stages: [Placement; 3],
    /// Feed and gateway run as one thread (they share a core).
    pub combined_io: bool,
}

/// A `--pin` string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// Not `stage=core` pairs.
    #[error("--pin {0:?}: expected stage=core pairs such as feed=0,matching=1,gateway=0")]
    Syntax(String),
    /// A stage name we do not know.
    #[error("--pin: unknown stage {0:?} (stages: feed, matching, gateway)")]
    UnknownStage(String),
    /// A core this machine does not have.
    #[error("--pin: stage {stage} on core {core}, but this machine has cores 0..{cores}")]
    NoSuchCore {
        /// The stage.
        stage: &'static str,
        /// The core asked for.
        core: usize,
        /// Cores available.
        cores: usize,
    },
}

impl Topology {
    /// The default placement for a machine with `cores` cores.
    pub fn default_for(cores: usize) -> Topology {
        let cores = cores.max(1);
        let pins = match cores {
            1 => [0, 0, 0],
            2 => [0, 1, 0],
            _ => [0, 1, 2],
        };
        Topology::from_cores(pins.map(Some))
    }

    /// The default placement for this machine.
    pub fn default_here() -> Topology {
        Topology::default_for(available_cores())
    }

    /// Places stages on the given cores. Feed and gateway on one core become one I/O thread.
    /// A thread sharing its core with another spins-then-yields, an unpinned one too (it may
    /// share with anything); a thread alone on its core busy-spins.
    pub fn from_cores(cores: [Option<usize>; 3]) -> Topology {
        let (feed, gateway) = (Stage::Feed as usize, Stage::Gateway as usize);
        Topology::place(cores, cores[feed].is_some() && cores[feed] == cores[gateway])
    }

    fn place(cores: [Option<usize>; 3], combined_io: bool) -> Topology {
        let (feed, gateway) = (Stage::Feed as usize, Stage::Gateway as usize);
        let one_thread = |i: usize, j: usize| combined_io && (i == feed || i == gateway) && (j == feed || j == gateway);
        let mut stages = [Placement { core: None, wait: WaitStrategy::YIELDING }; 3];
        for (i, core) in cores.iter().enumerate() {
            let shared =
                core.is_none() || cores.iter().enumerate().any(|(j, c)| j != i && c == core && !one_thread(i, j));
            stages[i] =
                Placement { core: *core, wait: if shared { WaitStrategy::YIELDING } else { WaitStrategy::BusySpin } };
        }
        Topology { stages, combined_io }
    }

    /// Parses `feed=0,matching=1,gateway=0[,separate]` for a machine with `cores` cores. Stages
    /// left out keep their default placement; `separate` keeps feed and gateway two threads even
    /// on one core.
    pub fn parse(spec: &str, cores: usize) -> Result<Topology, TopologyError> {
        let mut pins = Topology::default_for(cores).stages.map(|p| p.core);
        let mut separate = false;
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "separate" {
                separate = true;
                continue;
            }
            let (name, core) = part.split_once('=').ok_or_else(|| TopologyError::Syntax(spec.to_string()))?;
            let stage = Stage::ALL
                .into_iter()
                .find(|s| s.name() == name.trim())
                .ok_or_else(|| TopologyError::UnknownStage(name.to_string()))?;
            let core: usize = core.trim().parse().map_err(|_| TopologyError::Syntax(spec.to_string()))?;
            if core >= cores {
                return Err(TopologyError::NoSuchCore { stage: stage.name(), core, cores });
            }
            pins[stage as usize] = Some(core);
        }
        let t = Topology::from_cores(pins);
        Ok(if separate { Topology::place(pins, false) } else { t })
    }

    /// The placement of one stage.
    pub fn of(&self, stage: Stage) -> Placement {
        self.stages[stage as usize]
    }

    /// `feed+gateway=0(busy-spin),matching=1(busy-spin)` or
    /// `feed=0(spin-then-yield),matching=1(busy-spin),gateway=0(spin-then-yield)` for reports.
    pub fn describe(&self) -> String {
        let show = |name: &str, p: Placement| {
            format!("{name}={}({})", p.core.map_or("-".to_string(), |c| c.to_string()), p.wait.name())
        };
        if self.combined_io {
            format!("{},{}", show("feed+gateway", self.of(Stage::Feed)), show("matching", self.of(Stage::Matching)))
        } else {
            Stage::ALL.iter().map(|s| show(s.name(), self.of(*s))).collect::<Vec<_>>().join(",")
        }
    }
}

/// Cores this process may run on.
pub fn available_cores() -> usize {
    core_affinity::get_core_ids().map_or(1, |c| c.len()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Busy-spinning threads per core (a combined feed+gateway is one thread).
    fn busy_per_core(t: &Topology) -> Vec<usize> {
        let mut per = vec![0; 8];
        for (i, p) in t.stages.iter().enumerate() {
            if p.wait.is_busy() && !(t.combined_io && i == Stage::Gateway as usize) {
                per[p.core.unwrap()] += 1;
            }
        }
        per
    }

    #[test]
    fn no_core_ever_has_two_busy_spinners() {
        for cores in 1..=4 {
            let t = Topology::default_for(cores);
            assert!(busy_per_core(&t).iter().all(|&n| n <= 1), "{cores} cores: {}", t.describe());
        }
        assert_eq!(Topology::default_for(2).describe(), "feed+gateway=0(busy-spin),matching=1(busy-spin)");
        assert_eq!(Topology::default_for(1).describe(), "feed+gateway=0(spin-then-yield),matching=0(spin-then-yield)");
        assert_eq!(
            Topology::parse("separate", 2).unwrap().describe(),
            "feed=0(spin-then-yield),matching=1(busy-spin),gateway=0(spin-then-yield)"
        );
        assert_eq!(Topology::default_for(3).describe(), "feed=0(busy-spin),matching=1(busy-spin),gateway=2(busy-spin)");
        for spec in ["feed=0,matching=0,gateway=1", "feed=1,matching=1,gateway=1", "separate", "gateway=1"] {
            let t = Topology::parse(spec, 2).unwrap();
            assert!(busy_per_core(&t).iter().all(|&n| n <= 1), "{spec}: {}", t.describe());
        }
        let t = Topology::parse("feed=1,matching=1,gateway=0", 2).unwrap();
        assert_eq!(t.describe(), "feed=1(spin-then-yield),matching=1(spin-then-yield),gateway=0(busy-spin)");
    }

    #[test]
    fn bad_pins_are_clear_errors() {
        assert_eq!(
            Topology::parse("feed=7", 2).unwrap_err().to_string(),
            "--pin: stage feed on core 7, but this machine has cores 0..2"
        );
        assert!(matches!(Topology::parse("fed=0", 2), Err(TopologyError::UnknownStage(_))));
        assert!(matches!(Topology::parse("feed:0", 2), Err(TopologyError::Syntax(_))));
    }
}
