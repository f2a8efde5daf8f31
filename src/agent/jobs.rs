//! One-off reads asked for by the hotline (through the command handler), run by the poller
//! between its scheduled reads, because the poller owns the only link to the vehicle.

use serde::Serialize;
use tokio::sync::oneshot;

use crate::reader::{
    ClearOutcome, EcuFreezeFrame, EcuReading, ReadError, ScanReport, VehicleReader, scan,
};

pub type Reply<T> = oneshot::Sender<Result<T, JobError>>;

#[derive(Debug)]
pub enum VehicleJob {
    Scan(Reply<ScanReport>),
    Live {
        pids: Vec<u8>,
        reply: Reply<Vec<EcuReading>>,
    },
    FreezeFrame(Reply<Vec<EcuFreezeFrame>>),
    Vin(Reply<Option<String>>),
    Clear(Reply<ClearOutcome>),
}

#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum JobError {
    #[error("the adapter is not connected right now; try again shortly")]
    NotConnected,
    #[error(
        "clearing codes needs the vehicle stationary with the engine off (speed {speed_kmh:?} km/h, engine {rpm:?} rpm)"
    )]
    VehicleNotStationary {
        speed_kmh: Option<f64>,
        rpm: Option<f64>,
    },
    #[error("reading the vehicle failed: {message}")]
    Failed { message: String },
}

impl From<ReadError> for JobError {
    fn from(e: ReadError) -> Self {
        JobError::Failed {
            message: e.to_string(),
        }
    }
}

impl VehicleJob {
    /// Answers without touching the vehicle, when there is no link.
    pub fn refuse(self, error: JobError) {
        match self {
            VehicleJob::Scan(r) => drop(r.send(Err(error))),
            VehicleJob::Live { reply, .. } => drop(reply.send(Err(error))),
            VehicleJob::FreezeFrame(r) => drop(r.send(Err(error))),
            VehicleJob::Vin(r) => drop(r.send(Err(error))),
            VehicleJob::Clear(r) => drop(r.send(Err(error))),
        }
    }

    /// Runs the job on the vehicle and sends the answer; returns the read error if the link
    /// itself failed, so the poller can reconnect.
    pub async fn run(self, reader: &mut VehicleReader<'_>) -> Option<ReadError> {
        let mut link_error = None;
        let mut keep = |r: Result<(), ReadError>| {
            if let Err(e) = r {
                link_error = Some(e);
            }
        };
        match self {
            VehicleJob::Scan(reply) => {
                let result = scan(reader, &mut |_| {}).await;
                keep(answer(reply, result));
            }
            VehicleJob::Live { pids, reply } => {
                let result = reader.read_pids(&pids).await;
                keep(answer(reply, result));
            }
            VehicleJob::FreezeFrame(reply) => {
                let result = reader.freeze_frames().await;
                keep(answer(reply, result));
            }
            VehicleJob::Vin(reply) => {
                let result = reader.vin().await;
                keep(answer(reply, result));
            }
            VehicleJob::Clear(reply) => match stationary(reader).await {
                Ok(()) => {
                    let result = reader.clear().await;
                    keep(answer(reply, result));
                }
                Err(refusal) => {
                    let _ = reply.send(Err(refusal));
                }
            },
        }
        link_error
    }
}

/// Sends the outcome; a link failure is also handed back to the caller.
fn answer<T>(reply: Reply<T>, result: Result<T, ReadError>) -> Result<(), ReadError> {
    match result {
        Ok(value) => {
            let _ = reply.send(Ok(value));
            Ok(())
        }
        Err(e) => {
            let _ = reply.send(Err(JobError::Failed {
                message: e.to_string(),
            }));
            match e {
                ReadError::Transport(t) if t.needs_reconnect() => Err(ReadError::Transport(t)),
                _ => Ok(()),
            }
        }
    }
}

/// Clearing codes on a moving vehicle or a running engine resets monitors mid-drive and, on
/// some ECUs, adaptive values: only with speed 0 and the engine stopped, read right now.
async fn stationary(reader: &mut VehicleReader<'_>) -> Result<(), JobError> {
    let readings = reader.read_pids(&[0x0C, 0x0D]).await?;
    let value = |pid: u8| {
        readings
            .iter()
            .find(|r| r.reading.pid == pid)
            .and_then(|r| r.reading.number(r.reading.key))
    };
    let (rpm, speed_kmh) = (value(0x0C), value(0x0D));
    // Unknown counts as moving: a clear must be proven safe, not assumed.
    let safe = speed_kmh == Some(0.0) && rpm.is_some_and(|r| r == 0.0);
    if safe {
        Ok(())
    } else {
        Err(JobError::VehicleNotStationary { speed_kmh, rpm })
    }
}
