//! AKMA push (a project extension): protect a message for a UE that has not contacted this AF
//! and post it to the UE's webhook (docs/developer-guide.md shows this file as it is).
use akma_af::push::{HttpWebhook, PushSender};
use akma_af::{AfFqdn, NaanfClient, SbiClient};
use akma_core::ids::Gpsi;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Push material from the AAnF (inside the operator's network; outside it, use a NefClient).
    let aanf = std::env::var("AANF").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let sender = PushSender::new(
        AfFqdn::parse("app.example.com")?,
        NaanfClient::new(SbiClient::h2c()?, aanf),
    );
    // The delivery channel: here the UE's webhook (any PushDelivery will do).
    let gpsi = Gpsi::parse(&std::env::var("GPSI")?)?;
    let channel = HttpWebhook::new()?;
    channel.add(gpsi.clone(), std::env::var("WEBHOOK")?);
    // Fresh nonce, increasing counter; on STALE_PUSH_MATERIAL, new material once and again.
    let report = sender
        .send(&gpsi, b"Your parcel arrives today", &channel)
        .await?;
    println!(
        "delivered: A-KID {}, counter {}",
        report.a_kid, report.counter
    );
    Ok(())
}
