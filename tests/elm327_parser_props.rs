//! Whatever an adapter sends, the ELM327 parser answers with a value, never a panic, and a
//! well-formed answer survives any noise that precedes the prompt before it.

use obd_agent::elm327::framer::Framer;
use obd_agent::elm327::frames::decode_lines;
use obd_agent::elm327::reply::classify;
use obd_agent::obd::protocol::Protocol;
use proptest::prelude::*;

fn hexish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(b"0123456789ABCDEF :>\r\n7E8F1".to_vec()),
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut framer = Framer::new();
        for response in framer.push(&bytes) {
            let reply = classify(&response.text, "0100");
            for protocol in Protocol::ALL {
                let _ = decode_lines(&reply.lines, protocol);
            }
        }
    }

    #[test]
    fn hex_like_noise_never_panics(bytes in hexish()) {
        let mut framer = Framer::new();
        for response in framer.push(&bytes) {
            let reply = classify(&response.text, "010C");
            for protocol in Protocol::ALL {
                let decoded = decode_lines(&reply.lines, protocol);
                for r in decoded.responses {
                    prop_assert!(!r.data.is_empty());
                }
            }
        }
    }

    #[test]
    fn a_clean_answer_after_noise_is_decoded(noise in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut framer = Framer::new();
        let mut stream = noise.clone();
        stream.extend_from_slice(b">7E804410C1AF8\r\r>");
        let responses = framer.push(&stream);
        let last = responses.last().expect("the final prompt completes a response");
        let reply = classify(&last.text, "010C");
        let decoded = decode_lines(&reply.lines, Protocol::Can11_500);
        prop_assert_eq!(decoded.responses.len(), 1);
        prop_assert_eq!(&decoded.responses[0].data, &vec![0x41, 0x0C, 0x1A, 0xF8]);
    }
}
