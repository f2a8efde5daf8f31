use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::sync::Mutex;

use super::*;
use crate::obd::dtc::Dtc;
use crate::sim::{Scenario, SimLatency};
use crate::transport::sim::SimTransport;
use crate::transport::{EcuResponse, ObdRequest};

/// The simulator behind a shared handle, so a test can start or stop the engine while the
/// poller owns the link. Then: how many requests go unanswered first (the ignition off),
/// whether the adapter measures the battery (an ELM327 does, SocketCAN does not), and how
/// many requests reached the bus.
#[derive(Clone)]
struct Shared(
    Arc<Mutex<SimTransport>>,
    Arc<AtomicU32>,
    Arc<AtomicBool>,
    Arc<AtomicU32>,
);

#[async_trait]
impl Transport for Shared {
    async fn request(&mut self, request: &ObdRequest) -> Result<Vec<EcuResponse>, TransportError> {
        self.3.fetch_add(1, Ordering::SeqCst);
        let unanswered = self
            .1
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if unanswered.is_ok() {
            return Err(TransportError::NoVehicle {
                detail: "UNABLE TO CONNECT".into(),
            });
        }
        self.0.lock().await.request(request).await
    }
    fn link(&self) -> LinkInfo {
        LinkInfo {
            adapter: "shared sim".into(),
            port: "-".into(),
            protocol: Some(crate::obd::protocol::Protocol::Can11_500),
        }
    }
    fn supports_multi_pid(&self) -> bool {
        true
    }
    async fn battery_voltage(&mut self) -> Result<Option<f32>, TransportError> {
        if !self.2.load(Ordering::SeqCst) {
            return Ok(None);
        }
        self.0.lock().await.battery_voltage().await
    }
}

/// Fails `failures` times, then hands out the shared simulator.
struct SimConnector {
    sim: Shared,
    failures: AtomicU32,
    attempts: AtomicU32,
}

#[async_trait]
impl Connector for SimConnector {
    async fn connect(&self) -> Result<Box<dyn Transport>, TransportError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(TransportError::Disconnected);
        }
        Ok(Box::new(self.sim.clone()))
    }
}

/// Handles a test keeps: the connector, the simulator, the poller to run, its events, and
/// the job queue.
type Setup = (
    Arc<SimConnector>,
    Shared,
    Poller<Arc<SimConnector>>,
    mpsc::Receiver<VehicleEvent>,
    mpsc::Sender<VehicleJob>,
);

fn setup(scenario: Scenario, failures: u32, sleep_below: f32) -> Setup {
    let sim = Shared(
        Arc::new(Mutex::new(SimTransport::new(scenario, SimLatency::zero()))),
        Arc::new(AtomicU32::new(0)),
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicU32::new(0)),
    );
    let connector = Arc::new(SimConnector {
        sim: sim.clone(),
        failures: AtomicU32::new(failures),
        attempts: AtomicU32::new(0),
    });
    let (tx, rx) = mpsc::channel(64);
    let (jobs_tx, jobs) = mpsc::channel(4);
    let poller = Poller {
        connector: connector.clone(),
        poll: PollConfig {
            dtc_interval: Duration::from_secs(60),
            pid_interval: Duration::from_secs(10),
            pids: vec![0x0C, 0x0D, 0x05],
            telemetry_interval: Duration::from_secs(60),
        },
        battery: BatteryConfig {
            sleep_below,
            wake_above: 13.2,
            check_interval: Duration::from_secs(30),
        },
        events: tx,
        jobs,
        test_mids: Vec::new(),
    };
    (connector, sim, poller, rx, jobs_tx)
}

#[async_trait]
impl<T: Connector> Connector for Arc<T> {
    async fn connect(&self) -> Result<Box<dyn Transport>, TransportError> {
        self.as_ref().connect().await
    }
}

/// Signals shutdown and waits for the poller to end, at most 5 s.
async fn stops_promptly(stop: watch::Sender<bool>, task: tokio::task::JoinHandle<()>) {
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops promptly")
        .unwrap();
}

async fn next(rx: &mut mpsc::Receiver<VehicleEvent>) -> VehicleEvent {
    tokio::time::timeout(Duration::from_secs(3600), rx.recv())
        .await
        .expect("an event in time")
        .expect("open")
}

#[tokio::test(start_paused = true)]
async fn reports_the_vehicle_then_samples_then_codes() {
    let (_, _, poller, mut rx, _jobs) = setup(Scenario::Misfire, 0, 11.0);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(poller.run(shutdown));
    match next(&mut rx).await {
        VehicleEvent::Connected { vin, .. } => {
            assert_eq!(vin.as_deref(), Some("1D4GP00R55B123456"))
        }
        other => panic!("expected Connected, got {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, VehicleEvent::Samples { .. }));
    match next(&mut rx).await {
        VehicleEvent::Codes {
            dtcs,
            mil,
            freeze_frames,
            ..
        } => {
            let codes: Vec<Dtc> = dtcs.iter().map(|d| d.code).collect();
            assert!(
                codes.contains(&"P0300".parse().unwrap())
                    && codes.contains(&"P0301".parse().unwrap())
            );
            assert!(mil);
            assert_eq!(freeze_frames.len(), 1);
        }
        other => panic!("expected Codes, got {other:?}"),
    }
    // The next samples come one pid_interval later, not at once.
    let before = Instant::now();
    assert!(matches!(next(&mut rx).await, VehicleEvent::Samples { .. }));
    assert!(Instant::now() - before >= Duration::from_secs(10));
    stops_promptly(stop, task).await;
}

#[tokio::test(start_paused = true)]
async fn sleeps_with_the_engine_off_and_wakes_when_it_runs() {
    // The simulated parked car sits at 12.4 V: below a 12.5 V threshold.
    let (_, sim, poller, mut rx, _jobs) = setup(Scenario::Healthy, 0, 12.5);
    sim.0.lock().await.vehicle_mut().set_engine_running(false);
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(poller.run(shutdown));
    let mut samples_before_sleep = 0;
    loop {
        match next(&mut rx).await {
            VehicleEvent::Power {
                state: PowerState::Sleeping,
                voltage,
            } => {
                assert_eq!(voltage, Some(12.4));
                break;
            }
            VehicleEvent::Samples { .. } => samples_before_sleep += 1,
            _ => {}
        }
    }
    assert_eq!(
        samples_before_sleep, 2,
        "the third low reading confirms sleep"
    );
    // Asleep: nothing is read for a long time.
    let quiet = tokio::time::timeout(Duration::from_secs(600), rx.recv()).await;
    assert!(quiet.is_err(), "no polling while asleep: {quiet:?}");
    sim.0.lock().await.vehicle_mut().set_engine_running(true);
    match next(&mut rx).await {
        VehicleEvent::Power {
            state: PowerState::Active,
            voltage,
        } => assert!(voltage.unwrap() > 13.2),
        other => panic!("expected wake-up, got {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, VehicleEvent::Samples { .. }));
}

#[tokio::test(start_paused = true)]
async fn reconnects_with_backoff_after_failures() {
    let (connector, _, poller, mut rx, _jobs) = setup(Scenario::Healthy, 3, 11.0);
    let (_stop, shutdown) = watch::channel(false);
    let start = Instant::now();
    tokio::spawn(poller.run(shutdown));
    for _ in 0..3 {
        assert!(matches!(next(&mut rx).await, VehicleEvent::LinkLost { .. }));
    }
    assert!(matches!(
        next(&mut rx).await,
        VehicleEvent::Connected { .. }
    ));
    assert_eq!(connector.attempts.load(Ordering::SeqCst), 4);
    // 1 s + 2 s + 4 s of backoff before the fourth attempt.
    assert!(Instant::now() - start >= Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn keeps_trying_when_the_vehicle_does_not_answer_at_first() {
    // The link opens, but the ECUs are silent for the first three reads (ignition off when
    // the daemon starts) and the adapter cannot measure the battery (SocketCAN): the poller
    // must not give up on the vehicle.
    let (connector, sim, poller, mut rx, _jobs) = setup(Scenario::Misfire, 0, 11.0);
    sim.1.store(3, Ordering::SeqCst);
    sim.2.store(false, Ordering::SeqCst);
    let (stop, shutdown) = watch::channel(false);
    let start = Instant::now();
    let task = tokio::spawn(poller.run(shutdown));
    for _ in 0..3 {
        match next(&mut rx).await {
            VehicleEvent::LinkLost { reason } => {
                assert!(reason.contains("UNABLE TO CONNECT"), "{reason}")
            }
            other => panic!("expected LinkLost, got {other:?}"),
        }
    }
    assert!(matches!(
        next(&mut rx).await,
        VehicleEvent::Connected { .. }
    ));
    assert!(matches!(next(&mut rx).await, VehicleEvent::Samples { .. }));
    assert!(matches!(next(&mut rx).await, VehicleEvent::Codes { .. }));
    assert_eq!(connector.attempts.load(Ordering::SeqCst), 4);
    // The same growing wait as for an adapter that cannot be reached: 1 s + 2 s + 4 s.
    assert!(Instant::now() - start >= Duration::from_secs(7));
    stops_promptly(stop, task).await;
}

#[tokio::test(start_paused = true)]
async fn with_the_ignition_off_it_watches_the_voltage_not_the_bus() {
    // ELM327 on a parked car: the adapter answers, the ECUs do not. Probing the bus every
    // minute could keep the car's modules awake; the adapter's voltage costs nothing.
    let (connector, sim, poller, mut rx, _jobs) = setup(Scenario::Misfire, 0, 11.0);
    sim.0.lock().await.vehicle_mut().set_engine_running(false);
    sim.1.store(u32::MAX, Ordering::SeqCst);
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(poller.run(shutdown));
    assert!(matches!(next(&mut rx).await, VehicleEvent::LinkLost { .. }));
    let asked = sim.3.load(Ordering::SeqCst);
    let quiet = tokio::time::timeout(Duration::from_secs(600), rx.recv()).await;
    assert!(quiet.is_err(), "nothing while parked: {quiet:?}");
    assert_eq!(sim.3.load(Ordering::SeqCst), asked, "no request on the bus");
    // Ignition on without starting: asked again after PARKED_RETRY (15 min), not sooner.
    let before = Instant::now();
    assert!(matches!(next(&mut rx).await, VehicleEvent::LinkLost { .. }));
    assert!(sim.3.load(Ordering::SeqCst) > asked);
    assert!(Instant::now() - before >= Duration::from_secs(290));
    // The engine starts: the charging voltage is seen within one check (30 s).
    let started = Instant::now();
    sim.1.store(0, Ordering::SeqCst);
    sim.0.lock().await.vehicle_mut().set_engine_running(true);
    assert!(matches!(
        next(&mut rx).await,
        VehicleEvent::Connected { .. }
    ));
    assert!(Instant::now() - started <= Duration::from_secs(31));
    assert_eq!(
        connector.attempts.load(Ordering::SeqCst),
        1,
        "the link stayed open"
    );
    stops_promptly(stop, task).await;
}

async fn ask<T>(
    jobs: &mpsc::Sender<VehicleJob>,
    job: impl FnOnce(super::super::jobs::Reply<T>) -> VehicleJob,
) -> Result<T, JobError> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    jobs.send(job(reply)).await.expect("poller running");
    tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .expect("answered in time")
        .expect("replied")
}

#[tokio::test(start_paused = true)]
async fn hotline_jobs_are_served_between_polls() {
    let (_, _, poller, mut rx, jobs) = setup(Scenario::Misfire, 0, 11.0);
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(poller.run(shutdown));
    assert!(matches!(
        next(&mut rx).await,
        VehicleEvent::Connected { .. }
    ));
    let vin = ask(&jobs, VehicleJob::Vin).await.unwrap();
    assert_eq!(vin.as_deref(), Some("1D4GP00R55B123456"));
    let live = ask(&jobs, |reply| VehicleJob::Live {
        pids: vec![0x0C],
        reply,
    })
    .await
    .unwrap();
    assert_eq!(live.len(), 1);
    let report = ask(&jobs, VehicleJob::Scan).await.unwrap();
    assert!(report.mil);
}

#[tokio::test(start_paused = true)]
async fn clear_is_refused_while_the_engine_runs_and_done_when_stopped() {
    let (_, sim, poller, mut rx, jobs) = setup(Scenario::Misfire, 0, 11.0);
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(poller.run(shutdown));
    assert!(matches!(
        next(&mut rx).await,
        VehicleEvent::Connected { .. }
    ));
    let refused = ask(&jobs, VehicleJob::Clear).await.unwrap_err();
    assert!(
        matches!(refused, JobError::VehicleNotStationary { .. }),
        "{refused:?}"
    );
    sim.0.lock().await.vehicle_mut().set_engine_running(false);
    let outcome = ask(&jobs, VehicleJob::Clear).await.unwrap();
    assert!(!outcome.cleared_by.is_empty());
    assert_eq!(outcome.not_cleared().count(), 0);
}

#[tokio::test(start_paused = true)]
async fn jobs_without_a_link_are_refused_not_left_hanging() {
    let (_, _, poller, _rx, jobs) = setup(Scenario::Healthy, 1000, 11.0);
    let (_stop, shutdown) = watch::channel(false);
    tokio::spawn(poller.run(shutdown));
    assert_eq!(
        ask(&jobs, VehicleJob::Vin).await.unwrap_err(),
        JobError::NotConnected
    );
}

#[tokio::test(start_paused = true)]
async fn service_06_is_read_once_per_drive_after_the_engine_has_run() {
    let (_, _, mut poller, mut rx, _jobs) = setup(Scenario::CatalystAgeing, 0, 11.0);
    poller.test_mids = crate::maintenance::MONITOR_TEST_MIDS.to_vec();
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(poller.run(shutdown));
    let start = Instant::now();
    let mut reads = Vec::new();
    let mut code_reads = 0;
    while start.elapsed() < Duration::from_secs(1500) {
        match next(&mut rx).await {
            VehicleEvent::TestResults { results, .. } => reads.push((start.elapsed(), results)),
            VehicleEvent::Codes { .. } => code_reads += 1,
            _ => {}
        }
    }
    // 25 code reads (every 60 s), one service 06 read: the first after 10 minutes running.
    assert!(code_reads >= 20, "{code_reads}");
    assert_eq!(reads.len(), 1, "{reads:?}");
    let (when, results) = &reads[0];
    assert!(*when >= TESTS_AFTER_RUNNING, "{when:?}");
    assert!(
        *when < TESTS_AFTER_RUNNING + Duration::from_secs(61),
        "{when:?}"
    );
    let catalyst = results[0].results.iter().find(|t| t.mid == 0x21);
    assert!(catalyst.is_some_and(|t| t.passed), "{results:?}");
    stops_promptly(stop, task).await;
}

#[tokio::test(start_paused = true)]
async fn a_car_without_service_06_sends_no_test_results() {
    let (_, _, mut poller, mut rx, _jobs) = setup(Scenario::Healthy, 0, 11.0);
    poller.test_mids = crate::maintenance::MONITOR_TEST_MIDS.to_vec();
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(poller.run(shutdown));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(900) {
        let event = next(&mut rx).await;
        assert!(
            !matches!(event, VehicleEvent::TestResults { .. }),
            "{event:?}"
        );
    }
    stops_promptly(stop, task).await;
}
