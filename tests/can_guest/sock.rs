//! Just enough of the Linux CAN socket API (raw and ISO-TP) for the guest tests, over libc.
//!
//! The structs are declared here rather than taken from libc because libc's `can_frame` has
//! private padding fields and it has no ISO-TP option structs at all.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use obd_agent::isotp::CanId;

const CAN_EFF_FLAG: u32 = 0x8000_0000;
const CAN_RTR_FLAG: u32 = 0x4000_0000;
const CAN_ERR_FLAG: u32 = 0x2000_0000;
const SOL_CAN_ISOTP: libc::c_int = 100 + libc::CAN_ISOTP;
const CAN_ISOTP_OPTS: libc::c_int = 1;
const CAN_ISOTP_RECV_FC: libc::c_int = 2;
const CAN_ISOTP_TX_PADDING: u32 = 0x004;

/// `struct can_frame` (linux/can.h).
#[repr(C, align(8))]
#[derive(Default, Clone, Copy)]
struct RawFrame {
    can_id: u32,
    len: u8,
    _pad: [u8; 3],
    data: [u8; 8],
}

/// `struct sockaddr_can` with the `tp` member of its address union; the union's j1939 member
/// makes it 16 bytes with 8-byte alignment, hence the tail.
#[repr(C)]
#[derive(Default)]
struct SockaddrCan {
    family: libc::sa_family_t,
    ifindex: libc::c_int,
    rx_id: u32,
    tx_id: u32,
    _tail: [u64; 1],
}

/// `struct can_isotp_options` (linux/can/isotp.h).
#[repr(C)]
struct IsotpOptions {
    flags: u32,
    frame_txtime: u32,
    ext_address: u8,
    txpad_content: u8,
    rxpad_content: u8,
    rx_ext_address: u8,
}

/// The kernel's `canid_t`: the format is the EFF flag bit.
fn raw_id(id: CanId) -> u32 {
    match id {
        CanId::Standard(id) => u32::from(id),
        CanId::Extended(id) => id | CAN_EFF_FLAG,
    }
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn ifindex(iface: &str) -> io::Result<libc::c_int> {
    let name = std::ffi::CString::new(iface).map_err(io::Error::other)?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    libc::c_int::try_from(index).map_err(io::Error::other)
}

fn open(kind: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the fd is owned from here on.
    let fd = check(unsafe { libc::socket(libc::PF_CAN, kind | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn bind(fd: &OwnedFd, addr: &SockaddrCan) -> io::Result<()> {
    let len = size_of::<SockaddrCan>() as libc::socklen_t;
    // SAFETY: `addr` points to a live sockaddr_can of `len` bytes.
    check(unsafe { libc::bind(fd.as_raw_fd(), (addr as *const SockaddrCan).cast(), len) })?;
    Ok(())
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` points to a live T of `len` bytes.
    check(unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len)
    })?;
    Ok(())
}

/// Waits until `fd` is readable; false on timeout.
fn readable(fd: &OwnedFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd.
    Ok(check(unsafe { libc::poll(&mut pfd, 1, ms) })? > 0)
}

/// A raw CAN socket on one interface, seeing every frame but its own.
pub struct RawCan(OwnedFd);

impl RawCan {
    pub fn open(iface: &str) -> io::Result<RawCan> {
        let fd = open(libc::SOCK_RAW, libc::CAN_RAW)?;
        let addr = SockaddrCan {
            family: libc::AF_CAN as libc::sa_family_t,
            ifindex: ifindex(iface)?,
            ..SockaddrCan::default()
        };
        bind(&fd, &addr)?;
        Ok(RawCan(fd))
    }

    pub fn send(&self, id: CanId, data: &[u8]) -> io::Result<()> {
        let mut frame = RawFrame {
            can_id: raw_id(id),
            len: data.len().min(8) as u8,
            ..RawFrame::default()
        };
        frame.data[..usize::from(frame.len)].copy_from_slice(&data[..usize::from(frame.len)]);
        // SAFETY: writes one whole can_frame from a live value.
        let n = unsafe {
            libc::write(
                self.0.as_raw_fd(),
                (&frame as *const RawFrame).cast(),
                size_of::<RawFrame>(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// The next data frame within `timeout` (error and remote frames are skipped).
    pub fn recv(&self, timeout: Duration) -> io::Result<Option<(CanId, Vec<u8>)>> {
        let end = std::time::Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if !readable(&self.0, left)? {
                return Ok(None);
            }
            let mut frame = RawFrame::default();
            // SAFETY: reads at most one can_frame into a live value of that size.
            let n = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    (&mut frame as *mut RawFrame).cast(),
                    size_of::<RawFrame>(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if frame.can_id & (CAN_RTR_FLAG | CAN_ERR_FLAG) != 0 {
                continue;
            }
            let id = if frame.can_id & CAN_EFF_FLAG != 0 {
                CanId::Extended(frame.can_id & 0x1FFF_FFFF)
            } else {
                CanId::Standard((frame.can_id & 0x7FF) as u16)
            };
            let len = usize::from(frame.len.min(8));
            return Ok(Some((id, frame.data[..len].to_vec())));
        }
    }
}

/// A kernel ISO-TP socket: whole messages in and out, the kernel does the frames.
pub struct KernelIsoTp(OwnedFd);

/// Kernel-side flow control parameters (what it announces when receiving).
pub struct Fc {
    pub block_size: u8,
    pub st_min: u8,
}

impl KernelIsoTp {
    /// Receives on `rx`, sends on `tx`, pads every frame to 8 bytes with 0xCC.
    pub fn open(iface: &str, rx: CanId, tx: CanId, fc: Option<Fc>) -> io::Result<KernelIsoTp> {
        let fd = open(libc::SOCK_DGRAM, libc::CAN_ISOTP)?;
        let opts = IsotpOptions {
            flags: CAN_ISOTP_TX_PADDING,
            frame_txtime: 0,
            ext_address: 0,
            txpad_content: 0xCC,
            rxpad_content: 0xCC,
            rx_ext_address: 0,
        };
        setsockopt(&fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &opts)?;
        if let Some(fc) = fc {
            // struct can_isotp_fc_options { bs, stmin, wftmax }
            setsockopt(
                &fd,
                SOL_CAN_ISOTP,
                CAN_ISOTP_RECV_FC,
                &[fc.block_size, fc.st_min, 0u8],
            )?;
        }
        let addr = SockaddrCan {
            family: libc::AF_CAN as libc::sa_family_t,
            ifindex: ifindex(iface)?,
            rx_id: raw_id(rx),
            tx_id: raw_id(tx),
            _tail: [0],
        };
        bind(&fd, &addr)?;
        Ok(KernelIsoTp(fd))
    }

    pub fn send(&self, message: &[u8]) -> io::Result<()> {
        // SAFETY: writes from a live slice of its own length.
        let n = unsafe { libc::write(self.0.as_raw_fd(), message.as_ptr().cast(), message.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    pub fn recv(&self, timeout: Duration) -> io::Result<Option<Vec<u8>>> {
        if !readable(&self.0, timeout)? {
            return Ok(None);
        }
        let mut buf = vec![0u8; 4096];
        // SAFETY: reads into a live buffer of its own length.
        let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        buf.truncate(n);
        Ok(Some(buf))
    }
}
