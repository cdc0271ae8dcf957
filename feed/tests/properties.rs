//! The feed's decoders survive arbitrary bytes: pcap/pcapng readers, the packet dissector and the
//! statistics pass return values or errors, never panic.

use proptest::prelude::*;
use tickforge_feed::{net, pcap, stats, Format};

fn all(bytes: &[u8]) {
    for format in [Format::BinaryFile, Format::Pcap, Format::Pcapng] {
        let _ = stats::compute(format, bytes);
    }
    if let Ok(frames) = pcap::Frames::new(bytes) {
        for f in frames.take(1000).flatten() {
            let _ = net::segment(f.link_type, f.data);
        }
    }
    for link in [pcap::LINKTYPE_ETHERNET, pcap::LINKTYPE_RAW, pcap::LINKTYPE_LINUX_SLL] {
        let _ = net::segment(link, bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        all(&bytes);
    }

    #[test]
    fn arbitrary_pcap_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), nano in any::<bool>()) {
        let mut b = pcap::Writer::new(pcap::LINKTYPE_ETHERNET).into_bytes();
        if !nano { b[..4].copy_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1]); }
        b.extend_from_slice(&body);
        all(&b);
    }

    #[test]
    fn arbitrary_pcapng_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut b = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
        b.extend_from_slice(&[0xff; 8]);
        b.extend_from_slice(&[28, 0, 0, 0]);
        b.extend_from_slice(&body);
        all(&b);
    }

    #[test]
    fn mutated_real_frames_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..200), flip in any::<prop::sample::Index>(), val in any::<u8>()) {
        let ep = net::Endpoints { src: [1, 2, 3, 4], dst: [5, 6, 7, 8], src_port: 1, dst_port: 2 };
        let mut f = net::udp_frame(&ep, &payload);
        let i = flip.index(f.len());
        f[i] = val;
        let mut w = pcap::Writer::new(pcap::LINKTYPE_ETHERNET);
        w.frame(0, &f);
        all(w.bytes());
    }
}
