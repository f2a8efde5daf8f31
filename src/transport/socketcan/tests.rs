//! Host tests: what needs no CAN interface. The socket paths run in the qemu guest
//! (tests/can_guest.rs).

use super::*;
use crate::obd::service::answers_request;

#[test]
fn only_answers_to_this_request_pass() {
    assert!(answers_request(&[0x01, 0x0C, 0x0D], &[0x41, 0x0D, 0x20]));
    assert!(
        !answers_request(&[0x01, 0x0C], &[0x41, 0x0D, 0x20]),
        "other PID"
    );
    assert!(!answers_request(&[0x01, 0x0C], &[0x41]), "no PID");
    assert!(answers_request(&[0x03], &[0x43, 0x00]));
    assert!(!answers_request(&[0x03], &[0x47, 0x00]), "other service");
    assert!(answers_request(&[0x09, 0x02], &[0x7F, 0x09, 0x12]));
    assert!(!answers_request(&[0x09, 0x02], &[0x7F, 0x01, 0x12]));
    assert!(answers_request(
        &[0x02, 0x0C, 0x00],
        &[0x42, 0x0C, 0x00, 0x1A, 0xF8]
    ));
    assert!(!answers_request(&[], &[0x41]));
    assert!(!answers_request(&[0x01, 0x00], &[]));
}

#[test]
fn interface_failures_ask_for_a_reconnect_open_failures_do_not() {
    let gone = SocketCanError::Gone {
        iface: "can0".into(),
    };
    let e = gone.into_transport(false);
    assert!(e.needs_reconnect(), "{e}");
    let down = SocketCanError::Down {
        iface: "can0".into(),
    };
    let e = down.into_transport(true);
    assert!(!e.needs_reconnect());
    let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(text.contains("bitrate 500000"), "{text}");
    let long = SocketCanError::TooLong {
        after: Duration::from_secs(30),
    };
    assert!(matches!(
        long.into_transport(false),
        TransportError::Timeout { .. }
    ));
    let functional = SocketCanError::IsoTp(IsoTpError::FunctionalTooLong { len: 9 });
    assert!(matches!(
        functional.into_transport(false),
        TransportError::Rejected { .. }
    ));
    let enodev = io::Error::from_raw_os_error(libc::EAFNOSUPPORT);
    assert!(matches!(
        SocketCanError::from_io("can0", enodev),
        SocketCanError::NoKernelSupport
    ));
}

#[tokio::test]
async fn opening_explains_what_is_wrong_with_the_interface() {
    if !std::path::Path::new("/sys/class/net/lo").exists() {
        return;
    }
    let open = |iface: &str| SocketCanTransport::open(SocketCanOptions::new(iface));
    let err = open("nocan9").await.err().expect("no such interface");
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("no CAN interface nocan9"), "{text}");
    assert!(!err.needs_reconnect());
    let err = open("lo").await.err().expect("loopback is not CAN");
    let text = std::error::Error::source(&err).unwrap().to_string();
    assert!(text.contains("not a CAN interface"), "{text}");
    let mut options = SocketCanOptions::new("vcan0");
    options.protocol = Some(Protocol::Iso9141);
    let err = SocketCanTransport::open(options)
        .await
        .err()
        .expect("not CAN");
    assert!(matches!(err, TransportError::Rejected { .. }), "{err}");
}

#[test]
fn bus_errors_are_named_for_people() {
    use socket::error_class as c;
    assert_eq!(error::describe_bus_errors(c::BUS_OFF), "bus-off");
    assert_eq!(
        error::describe_bus_errors(c::NO_ACK | c::PROTOCOL),
        "no node acknowledged our frames, protocol errors"
    );
    assert_eq!(error::describe_bus_errors(0x100), "error class 0x100");
    let e = SocketCanError::BusErrors {
        iface: "can0".into(),
        what: "bus-off".into(),
    }
    .into_transport(false);
    assert!(matches!(e, TransportError::NoVehicle { .. }), "{e}");
    assert!(e.to_string().contains("bitrate"), "{e}");
}
