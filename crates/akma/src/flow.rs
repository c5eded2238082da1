//! The message-flow recorder of `akma demo`: a `tracing` layer that keeps the events of the
//! flow target (`akma_sbi_server::FLOW_TARGET`: SBI requests and responses, NAS messages of
//! the simulated AMF/SEAF, the Ua* steps the demo itself emits) with the time each happened,
//! and renders them as messages between UE, AMF/SEAF, AUSF, UDM, AAnF, NEF and the AFs
//! (inside the operator's network, or outside it behind the NEF). The events
//! carry no identity and no key (paths are passed through `flow_path`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

/// One recorded event.
#[derive(Debug, Clone, Default)]
pub struct FlowEvent {
    /// When, since the recorder started.
    pub at_ms: f64,
    /// `sbi_request`, `sbi_response`, `nas_uplink`, `nas_downlink`, `ua`.
    pub kind: String,
    /// SBI method.
    pub method: String,
    /// SBI path (identities replaced).
    pub path: String,
    /// SBI status.
    pub status: Option<u64>,
    /// NAS message name, or the Ua* message.
    pub message: String,
    /// `ua`: sender and receiver.
    pub from: String,
    /// `ua`: receiver.
    pub to: String,
    /// `sbi_request`: the caller's NF type from its `User-Agent`, when it named one.
    pub caller: String,
}

/// The shared event list.
#[derive(Clone)]
pub struct Flow {
    start: Instant,
    events: Arc<Mutex<Vec<FlowEvent>>>,
}

impl Flow {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// The events so far.
    pub fn events(&self) -> Vec<FlowEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The events as (time, from, to, message) rows.
    pub fn rows(&self) -> Vec<(f64, &'static str, &'static str, String)> {
        self.events().iter().filter_map(row).collect()
    }
}

/// Who sends an SBI request to this path, who serves it, and the operation's name.
fn sbi_parties(method: &str, path: &str) -> (&'static str, &'static str, String) {
    let op = |name: &str| format!("{name} ({method} {path})");
    if path.starts_with("/nausf-auth/") {
        let name = if path.ends_with("/5g-aka-confirmation") {
            "Nausf_UEAuthentication_Authenticate (5G AKA confirmation)"
        } else if path.ends_with("/eap-session") {
            "Nausf_UEAuthentication_Authenticate (EAP session)"
        } else {
            "Nausf_UEAuthentication_Authenticate"
        };
        ("AMF/SEAF", "AUSF", op(name))
    } else if path.starts_with("/nudm-ueau/") {
        let name = if path.ends_with("/auth-events") {
            "Nudm_UEAU_ResultConfirmation"
        } else {
            "Nudm_UEAU_Get"
        };
        ("AUSF", "UDM", op(name))
    } else if path.starts_with("/nudm-sdm/") {
        ("NEF", "UDM", op("Nudm_SDM_Get (id translation)"))
    } else if path.starts_with("/nudm-") {
        ("AUSF", "UDM", op("Nudm"))
    } else if path == "/oauth2/token" {
        (
            "AF (outside)",
            "NEF",
            op("OAuth2 token (client credentials)"),
        )
    } else if path.starts_with("/3gpp-akma/") {
        ("AF (outside)", "NEF", op("Nnef_AKMA_ApplicationKey_Get"))
    } else if path.starts_with("/3gpp-akma-push/") {
        (
            "AF (outside)",
            "NEF",
            op("AKMA push-info (project extension)"),
        )
    } else if path.starts_with("/naanf-akma-push/") {
        ("AF", "AAnF", op("AKMA push-info (project extension)"))
    } else if path.ends_with("/register-anchorkey") {
        ("AUSF", "AAnF", op("Naanf_AKMA_AnchorKey_Register"))
    } else if path.ends_with("/retrieve-applicationkey") {
        ("AF", "AAnF", op("Naanf_AKMA_ApplicationKey_Get"))
    } else if path.ends_with("/remove-context") {
        ("AUSF", "AAnF", op("Naanf_AKMA_Context_Remove"))
    } else {
        ("?", "?", op("SBI"))
    }
}

/// The NF type the SBI server read from the caller's `User-Agent` (the AAnF is called by an
/// AF inside the network and by the NEF for an outside AF: the path alone does not tell).
fn caller(s: &str) -> Option<&'static str> {
    match s {
        "AF" => Some("AF"),
        "NEF" => Some("NEF"),
        "AUSF" => Some("AUSF"),
        "AAnF" => Some("AAnF"),
        "AMF/SEAF" => Some("AMF/SEAF"),
        _ => None,
    }
}

/// The sender of a request: the NF type its `User-Agent` named, else the path's usual caller.
/// An AF calling the NEF is outside the operator's network whatever it calls itself.
fn sender(e: &FlowEvent, by_path: &'static str) -> &'static str {
    match caller(&e.caller) {
        Some("AF") if by_path == "AF (outside)" => by_path,
        Some(c) => c,
        None => by_path,
    }
}

fn party(s: &str) -> &'static str {
    match s {
        "UE" => "UE",
        "AF" => "AF",
        "AAnF" => "AAnF",
        "NEF" => "NEF",
        "AF (outside)" => "AF (outside)",
        _ => "?",
    }
}

fn row(e: &FlowEvent) -> Option<(f64, &'static str, &'static str, String)> {
    Some(match e.kind.as_str() {
        "nas_uplink" => (e.at_ms, "UE", "AMF/SEAF", e.message.clone()),
        "nas_downlink" => (e.at_ms, "AMF/SEAF", "UE", e.message.clone()),
        "sbi_request" => {
            let (from, to, op) = sbi_parties(&e.method, &e.path);
            (e.at_ms, sender(e, from), to, op)
        }
        "sbi_response" => {
            let (from, to, op) = sbi_parties(&e.method, &e.path);
            let from = sender(e, from);
            let name = op.split(" (").next().unwrap_or("").to_owned();
            (
                e.at_ms,
                to,
                from,
                format!("{} {name}", e.status.unwrap_or(0)),
            )
        }
        "ua" => (e.at_ms, party(&e.from), party(&e.to), e.message.clone()),
        _ => return None,
    })
}

struct Fields<'a>(&'a mut FlowEvent);

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.set(f, v.to_owned());
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "status" {
            self.0.status = Some(v);
        }
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.set(f, format!("{v:?}"));
    }
}

impl Fields<'_> {
    fn set(&mut self, f: &Field, v: String) {
        match f.name() {
            "kind" => self.0.kind = v,
            "method" => self.0.method = v,
            "path" => self.0.path = v,
            "message" => self.0.message = v,
            "from" => self.0.from = v,
            "to" => self.0.to = v,
            "caller" => self.0.caller = v,
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Flow {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != akma_sbi_server::FLOW_TARGET {
            return;
        }
        let mut e = FlowEvent {
            at_ms: self.start.elapsed().as_secs_f64() * 1e3,
            ..FlowEvent::default()
        };
        event.record(&mut Fields(&mut e));
        // `message` is also the event's text for SBI events: keep only NAS/Ua* names.
        if e.kind.starts_with("sbi") {
            e.message.clear();
        }
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }
}

/// Installs the process's subscriber: log lines as `akma_nf_host::logging` writes them (with
/// `filter`, or `RUST_LOG`), plus the flow recorder.
pub fn install(filter: &str) -> Result<Flow, String> {
    use tracing_subscriber::filter::{EnvFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    akma_nf_host::logging::install_digest_key().map_err(|e| e.to_string())?;
    let flow = Flow::new();
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    use std::io::IsTerminal;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(env);
    let rec = flow.clone().with_filter(
        Targets::new().with_target(akma_sbi_server::FLOW_TARGET, tracing::Level::TRACE),
    );
    tracing_subscriber::registry()
        .with(fmt)
        .with(rec)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(flow)
}
