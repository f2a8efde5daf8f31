//! The simulated vehicle on a CAN interface (vcan0 for tests, or a real bus to test another
//! tester against): every ECU a CAN node with its own ids, as [`VirtualEcus`] describes.
//!
//! `obd-agent sim --can vcan0 [--extended]` runs it from the command line.

mod ecus;
#[cfg(test)]
mod tests;

use std::io;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::warn;

pub use ecus::{CanSimOptions, EcuStep, Quirk, VirtualEcus};

use super::{SimError, SimVehicle};
use crate::transport::socketcan::socket::{CanFilter, CanSocket};
use crate::transport::socketcan::{SocketCanError, open_filtered};

/// How soon a server whose interface failed tries to open it again.
const REOPEN_EVERY: Duration = Duration::from_millis(50);

/// ECUs answering on a CAN interface. Dropping it takes them off the bus.
#[derive(Debug)]
pub struct CanServer {
    iface: String,
    response_ids: Vec<crate::isotp::CanId>,
    task: JoinHandle<()>,
}

impl CanServer {
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The ECUs' response ids (0x7E8.., 0x18DAF1xx), in vehicle order.
    pub fn response_ids(&self) -> &[crate::isotp::CanId] {
        &self.response_ids
    }
}

impl Drop for CanServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts serving `vehicle` on `iface`; fails only if the interface cannot be opened now.
/// Later failures (the interface goes down or disappears) are waited out: the ECUs come back
/// with the interface, as real ones do when the bus returns.
pub async fn serve_can(
    vehicle: SimVehicle,
    iface: &str,
    options: CanSimOptions,
) -> Result<CanServer, SimError> {
    let ecus = VirtualEcus::new(vehicle, &options);
    let filters: Vec<CanFilter> = ecus
        .listen_ids()
        .into_iter()
        .map(CanFilter::exact)
        .collect();
    let socket = open_filtered(iface, &filters).map_err(sim_error)?;
    let response_ids = ecus.response_ids();
    let task = tokio::spawn(run(ecus, iface.to_string(), filters, socket));
    Ok(CanServer {
        iface: iface.to_string(),
        response_ids,
        task,
    })
}

fn sim_error(e: SocketCanError) -> SimError {
    let kind = match &e {
        SocketCanError::NoInterface { .. } | SocketCanError::Gone { .. } => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    SimError::Io(io::Error::new(kind, e))
}

async fn run(mut ecus: VirtualEcus, iface: String, filters: Vec<CanFilter>, socket: CanSocket) {
    let epoch = Instant::now();
    let mut socket = Some(socket);
    loop {
        let Some(sock) = &socket else {
            tokio::time::sleep(REOPEN_EVERY).await;
            socket = open_filtered(&iface, &filters).ok();
            continue;
        };
        if let Err(e) = serve_until_error(&mut ecus, sock, epoch).await {
            warn!(%iface, %e, "CAN interface failed; simulated ECUs wait for it to come back");
            socket = None;
        }
    }
}

/// Runs the ECUs on `socket` until it fails.
async fn serve_until_error(
    ecus: &mut VirtualEcus,
    socket: &CanSocket,
    epoch: Instant,
) -> io::Result<()> {
    loop {
        let wait = loop {
            match ecus.poll(epoch.elapsed()) {
                EcuStep::Send(frame) => socket.send(&frame).await?,
                EcuStep::WaitUntil(t) => break t,
            }
        };
        let frame = match wait {
            Some(t) => match tokio::time::timeout_at(epoch + t, socket.recv()).await {
                Ok(frame) => Some(frame?),
                Err(_) => None,
            },
            None => Some(socket.recv().await?),
        };
        if let Some(frame) = frame {
            ecus.on_frame(epoch.elapsed(), frame.id, frame.data());
        }
    }
}
