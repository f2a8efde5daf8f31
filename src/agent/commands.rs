//! The command handler: remote commands from the hotline (already parsed and validated by the
//! uplink) are admitted or refused ([`super::auth`]: signature, freshness, replay, the `clear`
//! policy), then become jobs for the poller, and their results JSON replies.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use super::auth::{Admission, Candidate};
use super::jobs::{JobError, Reply, VehicleJob};
use super::maintain::MaintJob;
use crate::config::RemoteConfig;
use crate::uplink::{Command, CommandRequest, CommandResult};

/// Longest a command may wait for the vehicle: a full scan of a slow K-line car takes tens of
/// seconds; beyond this the hotline is better told to retry.
const JOB_TIMEOUT: Duration = Duration::from_secs(90);

pub async fn handle_commands(
    mut requests: mpsc::Receiver<CommandRequest>,
    jobs: mpsc::Sender<VehicleJob>,
    maint: Option<mpsc::Sender<MaintJob>>,
    vehicle_id: String,
    remote: RemoteConfig,
) {
    let mut admission = Admission::new(&vehicle_id, &remote);
    while let Some(request) = requests.recv().await {
        let command = request.command.name();
        info!(request_id = %request.request_id, command, "remote command");
        let candidate = Candidate {
            request_id: &request.request_id,
            command: &request.command,
            authentication: &request.authentication,
        };
        // The uplink answers a failure with code `failed`; the message names the reason.
        if let Err(refusal) = admission.check(&candidate, SystemTime::now()) {
            warn!(request_id = %request.request_id, command, reason = refusal.reason(), "remote command refused");
            let _ = request.reply.send(Err(refusal.to_string()));
            continue;
        }
        let result = execute(&request.command, &jobs, maint.as_ref()).await;
        // The requester may have given up (reply timeout); nothing more to do then.
        let _ = request.reply.send(result);
    }
}

async fn execute(
    command: &Command,
    jobs: &mpsc::Sender<VehicleJob>,
    maint: Option<&mpsc::Sender<MaintJob>>,
) -> CommandResult {
    match command {
        Command::ServiceDone { item, odometer_km } => {
            let (item, odometer_km) = (item.clone(), odometer_km.map(f64::from));
            ask_maintenance(maint, |reply| MaintJob::ServiceDone {
                item,
                odometer_km,
                reply,
            })
            .await
        }
        Command::Appointment => {
            ask_maintenance(maint, |reply| MaintJob::Appointment { reply }).await
        }
        Command::Scan => {
            let report = ask(jobs, VehicleJob::Scan).await?;
            let triage = crate::triage::assess(&report);
            Ok(json!({ "report": report, "triage": triage }))
        }
        Command::Live { pids } => {
            let pids = pids.clone();
            let readings = ask(jobs, |reply| VehicleJob::Live { pids, reply }).await?;
            Ok(json!({ "readings": readings }))
        }
        Command::Freeze { frame } if *frame != 0 => Err(format!(
            "freeze frame {frame} is not kept: OBD-II ECUs store frame 0 only"
        )),
        Command::Freeze { .. } => {
            let frames = ask(jobs, VehicleJob::FreezeFrame).await?;
            Ok(json!({ "freeze_frames": frames }))
        }
        Command::Vin => Ok(json!({ "vin": ask(jobs, VehicleJob::Vin).await? })),
        // Admitted only with remote.allow_clear; the poller checks the vehicle is stationary.
        Command::Clear => Ok(json!({ "clear": ask(jobs, VehicleJob::Clear).await? })),
    }
}

async fn ask_maintenance(
    maint: Option<&mpsc::Sender<MaintJob>>,
    job: impl FnOnce(oneshot::Sender<CommandResult>) -> MaintJob,
) -> CommandResult {
    let Some(maint) = maint else {
        return Err(
            "maintenance is disabled on this vehicle ([maintenance] enabled = false)".into(),
        );
    };
    let (reply, answer) = oneshot::channel();
    maint
        .send(job(reply))
        .await
        .map_err(|_| "the agent is shutting down".to_string())?;
    match tokio::time::timeout(JOB_TIMEOUT, answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("the maintenance stage stopped before answering".into()),
        Err(_) => Err(format!(
            "no answer from the maintenance stage within {JOB_TIMEOUT:?}"
        )),
    }
}

async fn ask<T>(
    jobs: &mpsc::Sender<VehicleJob>,
    job: impl FnOnce(Reply<T>) -> VehicleJob,
) -> Result<T, String> {
    let (reply, answer) = oneshot::channel();
    jobs.send(job(reply))
        .await
        .map_err(|_| "the agent is shutting down".to_string())?;
    match tokio::time::timeout(JOB_TIMEOUT, answer).await {
        Ok(Ok(result)) => result.map_err(|e: JobError| e.to_string()),
        Ok(Err(_)) => Err("the vehicle link went away before answering".into()),
        Err(_) => Err(format!("no answer from the vehicle within {JOB_TIMEOUT:?}")),
    }
}
