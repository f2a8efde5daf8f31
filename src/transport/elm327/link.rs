//! Opening the byte link to an adapter: a serial device (USB, Bluetooth rfcomm) or TCP (WiFi).

use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

use crate::transport::TransportError;

/// Baud rates tried, most common first: 38400 is the ELM327's factory default, 9600 the
/// jumper-selected one, the rest are what clones and `ATBRD` leave behind.
pub const BAUD_RATES: [u32; 6] = [38400, 9600, 115_200, 57600, 230_400, 500_000];

const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the adapter is, as given by the user: a device path or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    Serial(String),
    Tcp(String),
}

impl PortSpec {
    pub fn parse(port: &str) -> PortSpec {
        let looks_like_path = port.starts_with('/') || port.starts_with('.');
        match port.rsplit_once(':') {
            Some((host, p)) if !looks_like_path && !host.is_empty() && p.parse::<u16>().is_ok() => {
                PortSpec::Tcp(port.to_string())
            }
            _ => PortSpec::Serial(port.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PortSpec::Serial(p) | PortSpec::Tcp(p) => p,
        }
    }
}

/// The open byte stream.
pub enum Link {
    Serial(SerialStream),
    Tcp(TcpStream),
}

impl Link {
    pub async fn open(spec: &PortSpec, baud: u32) -> Result<Link, TransportError> {
        let port = spec.as_str().to_string();
        match spec {
            PortSpec::Tcp(addr) => {
                match tokio::time::timeout(TCP_CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        Ok(Link::Tcp(stream))
                    }
                    Ok(Err(source)) => Err(TransportError::Open { port, source }),
                    Err(_) => Err(TransportError::Timeout {
                        what: format!("connecting to {addr}"),
                        after: TCP_CONNECT_TIMEOUT,
                    }),
                }
            }
            PortSpec::Serial(path) => {
                let stream = tokio_serial::new(path, baud)
                    .open_native_async()
                    .map_err(|e| {
                        let io: std::io::Error = e.into();
                        match io.kind() {
                            // serialport reports a port locked by another process (EBUSY) as
                            // "no device"; its message still says busy.
                            ErrorKind::NotFound
                                if io.to_string().to_lowercase().contains("busy") =>
                            {
                                TransportError::PortBusy { port: port.clone() }
                            }
                            ErrorKind::NotFound => {
                                TransportError::NoSuchPort { port: port.clone() }
                            }
                            ErrorKind::PermissionDenied => {
                                TransportError::PermissionDenied { port: port.clone() }
                            }
                            _ => TransportError::Open {
                                port: port.clone(),
                                source: io,
                            },
                        }
                    })?;
                Ok(Link::Serial(stream))
            }
        }
    }

    /// Changes the serial line speed; a no-op on TCP.
    pub fn set_baud(&mut self, baud: u32) -> Result<(), TransportError> {
        match self {
            Link::Serial(stream) => stream
                .set_baud_rate(baud)
                .map_err(|e| TransportError::Io(e.into())),
            Link::Tcp(_) => Ok(()),
        }
    }

    pub fn is_serial(&self) -> bool {
        matches!(self, Link::Serial(_))
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Serial(s) => Pin::new(s).poll_read(cx, buf),
            Link::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Link::Serial(s) => Pin::new(s).poll_write(cx, buf),
            Link::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Serial(s) => Pin::new(s).poll_flush(cx),
            Link::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Serial(s) => Pin::new(s).poll_shutdown(cx),
            Link::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_paths_or_host_and_port() {
        assert_eq!(
            PortSpec::parse("/dev/ttyUSB0"),
            PortSpec::Serial("/dev/ttyUSB0".into())
        );
        assert_eq!(
            PortSpec::parse("/dev/rfcomm0"),
            PortSpec::Serial("/dev/rfcomm0".into())
        );
        assert_eq!(
            PortSpec::parse("192.168.0.10:35000"),
            PortSpec::Tcp("192.168.0.10:35000".into())
        );
        assert_eq!(
            PortSpec::parse("localhost:35000"),
            PortSpec::Tcp("localhost:35000".into())
        );
        assert_eq!(
            PortSpec::parse("[::1]:35000"),
            PortSpec::Tcp("[::1]:35000".into())
        );
        assert_eq!(PortSpec::parse("COM3"), PortSpec::Serial("COM3".into()));
        assert_eq!(PortSpec::parse("./a:1"), PortSpec::Serial("./a:1".into()));
    }
}
