//! Workers Launched: the executor's bgworker slot and `max_parallel_workers` limits.

use crate::model::guc::Settings;

/// Workers the executor launches for a Gather planned with `planned` workers (PG15
/// `LaunchParallelWorkers` / `RegisterDynamicBackgroundWorker`): limited by free
/// `max_worker_processes` slots (the logical replication launcher holds one whenever
/// `max_logical_replication_workers` > 0) and by the `max_parallel_workers` budget; other
/// sessions' parallel workers (`busy_worker_slots`) hold both. Never negative.
pub fn workers_launched(planned: u32, settings: &Settings, busy_worker_slots: u32) -> u32 {
    explain_launch(planned, settings, busy_worker_slots).0
}

/// [`workers_launched`] with the arithmetic spelled out.
pub fn explain_launch(planned: u32, settings: &Settings, busy: u32) -> (u32, String) {
    let mwp = settings.int("max_worker_processes");
    let launcher = i64::from(settings.int("max_logical_replication_workers") > 0);
    let busy = i64::from(busy);
    let slots = (mwp - launcher - busy).max(0);
    let budget = (settings.int("max_parallel_workers") - busy).max(0);
    let launched = i64::from(planned).min(slots).min(budget).max(0) as u32;
    let mut slot_text = format!("max_worker_processes {mwp}");
    if launcher > 0 {
        slot_text.push_str(" - 1 (logical replication launcher)");
    }
    if busy > 0 {
        slot_text.push_str(&format!(" - {busy} busy"));
    }
    let mut budget_text = format!("max_parallel_workers {}", settings.int("max_parallel_workers"));
    if busy > 0 {
        budget_text.push_str(&format!(" - {busy} busy"));
    }
    (
        launched,
        format!("min(planned {planned}, free slots {slot_text} = {slots}, {budget_text} = {budget}) = {launched}"),
    )
}

/// The execution-time fallback of a client row limit, in words.
pub(super) fn client_max_rows_reason(n: u64) -> String {
    format!(
        "the client fetches with a row limit (Execute max_rows = {n}): the executor does not enter parallel mode, so the Gather runs with 0 workers and the leader does everything (reference §11.3)"
    )
}
