//! The PostgreSQL parallel executor model on top of the generic engine.
//!
//! `compile` turns a plan into per-process work; `sim` runs it; `scan` is Parallel Seq Scan's
//! block allocator. No I/O happens here, and validated input cannot make it panic: anything
//! the model cannot finish is reported as an error (exit code 1).

pub mod compile;
pub mod cpu;
pub mod cpu_cost;
pub mod instrument;
pub mod measured;
mod merge_append;
mod pages;
pub mod scan;
pub mod server;
pub mod sim;

pub use compile::{compile, Compiled, Env, Mode};
pub use sim::{
    Accounting, Interval, Milestones, ProcessResult, SimResult, State, StateSamples, SubPlanGather, Trace, WaitSamples,
    N_STATES,
};

use crate::error::SimError;
use crate::model::guc::Settings;
use crate::model::measured::MeasuredCosts;
use crate::model::{Hardware, Node, OutputMode, Scenario, Table};

/// Everything one simulation run needs.
pub struct RunSpec<'a> {
    pub tables: &'a [Table],
    pub settings: &'a Settings,
    pub hw: &'a Hardware,
    pub output: OutputMode,
    /// The plan to execute, its Gather's worker count already decided.
    pub plan: &'a Node,
    /// Workers Planned of the Gather that runs, as the planner decided it
    /// (`planner::Decision::workers_planned`).
    pub workers_planned: u32,
    pub workers_launched: u32,
    pub seed: u64,
    pub trace: bool,
    /// Sample every process's state every this many ns as the run goes (no trace needed):
    /// `SimResult::wait_samples`.
    pub wait_sample_period: Option<crate::engine::Time>,
    /// Keep every sample as a row too (at most this many), not only the counts.
    pub wait_sample_rows: Option<usize>,
    /// Jump over whole periods of a repeating steady state (`exec::sim::ffwd`): the default
    /// is [`fast_forward_default`]; never with a trace.
    pub fast_forward: bool,
    /// Give up after this many steps (`DEFAULT_MAX_STEPS` unless a caller needs more).
    pub max_steps: u64,
    /// The scenario's measured per-node costs (`[measured]`).
    pub measured: Option<&'a MeasuredCosts>,
}

/// Steps grow with scan chunks and tuple-queue batches, never with rows: fifty million is far
/// beyond any shipped scenario and stops a model that never ends.
pub const DEFAULT_MAX_STEPS: u64 = 50_000_000;

impl<'a> RunSpec<'a> {
    /// A run of `plan` (its Gather's workers decided: `planned`, `launched`) over the
    /// scenario's tables, settings and measurement mode; no trace, the default step limit.
    pub fn new(sc: &'a Scenario, hw: &'a Hardware, plan: &'a Node, planned: u32, launched: u32, seed: u64) -> Self {
        RunSpec {
            tables: &sc.tables,
            settings: &sc.settings,
            hw,
            output: sc.output,
            plan,
            workers_planned: planned,
            workers_launched: launched,
            seed,
            trace: false,
            wait_sample_period: None,
            wait_sample_rows: None,
            fast_forward: fast_forward_default(),
            max_steps: DEFAULT_MAX_STEPS,
            measured: sc.measured.as_ref(),
        }
    }
}

static FAST_FORWARD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Whether new [`RunSpec`]s fast-forward over steady states (on unless a command was given
/// `--no-fast-forward`, which turns it off for the whole process, for checking).
pub fn fast_forward_default() -> bool {
    FAST_FORWARD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Set [`fast_forward_default`] for the rest of the process.
pub fn set_fast_forward_default(on: bool) {
    FAST_FORWARD.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn simulate(spec: &RunSpec) -> Result<(Compiled, SimResult), SimError> {
    let compiled = compile_for(spec);
    let result = simulate_compiled(spec, &compiled)?;
    Ok((compiled, result))
}

/// The plan of `spec` compiled (per-process pipelines and costs). It depends on neither the
/// seed nor the workers launched, so replications of one run share it ([`simulate_compiled`]).
pub fn compile_for(spec: &RunSpec) -> Compiled {
    let env = Env {
        tables: spec.tables,
        settings: spec.settings,
        hw: spec.hw,
        output: spec.output,
        workers_planned: spec.workers_planned,
        measured: spec.measured,
    };
    compile(&env, spec.plan)
}

/// [`simulate`] with the plan already compiled by [`compile_for`] from a spec that differs
/// from `spec` at most in its seed, workers launched, trace, sampling, fast-forward and step
/// limit.
pub fn simulate_compiled(spec: &RunSpec, compiled: &Compiled) -> Result<SimResult, SimError> {
    let launched = match compiled.mode {
        Mode::Serial => 0,
        _ => spec.workers_launched.min(compiled.workers_planned),
    };
    let mut sim = sim::Sim::new(compiled, spec.hw, spec.settings, launched, spec.seed, spec.trace)
        .fast_forward(spec.fast_forward);
    if let Some(period) = spec.wait_sample_period {
        sim = sim.wait_sampling(period, spec.wait_sample_rows.is_some(), spec.wait_sample_rows.unwrap_or(0));
    }
    sim.run(spec.max_steps)
}
