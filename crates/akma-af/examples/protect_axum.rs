//! Protect an axum service with AKMA (the README's example; `tests/readme_example.rs` runs it).
use std::sync::Arc;

use akma_af::{AcceptorConfig, AfFqdn, AkmaPeer, KeyClient, NaanfClient, SbiClient, UaAcceptor};
use axum::{routing::get, Extension, Router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The AAnF (development: h2c on loopback; production: SbiClient::builder() with mTLS and a token).
    let aanf = std::env::var("AANF").unwrap_or_else(|_| "http://127.0.0.1:8081".into());
    let keys = KeyClient::new(
        NaanfClient::new(SbiClient::h2c()?, aanf),
        Default::default(),
    );
    // TLS 1.3 and TLS 1.2 with K_AF as the pre-shared key, for this AF's FQDN.
    let acceptor = UaAcceptor::new(
        AcceptorConfig::new(AfFqdn::parse("app.example.com")?),
        Arc::new(keys),
    )?;
    // Every request carries the authenticated peer: A-KID, SUPI/GPSI or anonymous, K_AF expiry.
    let app = Router::new().route(
        "/",
        get(|Extension(peer): Extension<AkmaPeer>| async move {
            format!("hello {}\n", peer.user.name())
        }),
    );
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8443".into());
    akma_af::serve(tokio::net::TcpListener::bind(listen).await?, acceptor, app).await?;
    Ok(())
}
