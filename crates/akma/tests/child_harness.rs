//! The child-process harness of `akma_sim::child` against the real binary: every NF prints
//! `listening sbi=… [ops=…]` once bound on a port of the kernel's choosing, becomes ready,
//! stops on SIGTERM, and restarts on the same data directory.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_sim::child::NfCommand;
use akma_sim::HarnessError;

fn nf(sub: &str) -> NfCommand {
    NfCommand::new(env!("CARGO_BIN_EXE_akma"), sub).without_env_prefix("AKMA_")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_nf_prints_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let udm = nf("udm")
        .data(&dir.path().join("udm"))
        .log_to(dir.path().join("udm.log"))
        .start()
        .await
        .unwrap();
    let aanf = nf("aanf")
        .data(&dir.path().join("aanf"))
        .args(["--ops-listen", "127.0.0.1:0"])
        .log_to(dir.path().join("aanf.log"))
        .start()
        .await
        .unwrap();
    let ausf = nf("ausf")
        .arg("--udm")
        .arg(udm.api_root())
        .arg("--aanf")
        .arg(aanf.api_root())
        .log_to(dir.path().join("ausf.log"))
        .start()
        .await
        .unwrap();
    for n in [&udm, &aanf, &ausf] {
        assert!(n.sbi_addr().ip().is_loopback(), "{}", n.name());
        assert_ne!(n.sbi_addr().port(), 0, "{}", n.name());
    }
    let ops = aanf.ops_addr().expect("a separate ops listener is printed");
    assert_ne!(ops, aanf.sbi_addr());
    assert_eq!(udm.ops_addr(), None);
    let client = akma_sim::answer::h2c_client().unwrap();
    let r = client
        .get(format!("{}/readyz", aanf.ops_root()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(client);
    for mut n in [ausf, aanf, udm] {
        let st = n.terminate().await.unwrap();
        assert!(st.success(), "{}: {st}\n{}", n.name(), n.log_text());
        assert!(matches!(
            n.check_alive(),
            Err(HarnessError::NotRunning { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aanf");
    let mut aanf = nf("aanf")
        .data(&data)
        .log_to(dir.path().join("aanf.log"))
        .start()
        .await
        .unwrap();
    let kek = std::fs::read(data.join("dev-kek.hex")).unwrap();
    let st = aanf.kill9().unwrap();
    assert!(!st.success());
    aanf.restart().await.unwrap();
    assert_eq!(
        std::fs::read(data.join("dev-kek.hex")).unwrap(),
        kek,
        "the same data directory (and development KEK) after the restart"
    );
    aanf.restart().await.unwrap();
    aanf.check_alive().unwrap();
}

#[tokio::test]
async fn a_child_that_fails_to_start_is_reported_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    // Not an address: the AAnF refuses its configuration and exits before binding.
    let e = nf("aanf")
        .data(&dir.path().join("aanf"))
        .args(["--ops-listen", "nowhere"])
        .log_to(dir.path().join("aanf.log"))
        .start()
        .await
        .unwrap_err();
    match e {
        HarnessError::Exited { status, .. } => assert!(!status.success()),
        other => panic!("{other}"),
    }
}
