//! # akma-msgin5g
//!
//! A MSGin5G messaging server as an AKMA AF (TS 33.501 Annex Y: "authentication and
//! authorization between the MSGin5G Client and the MSGin5G Server shall be based on AKMA";
//! the server acts as the AF, MSGin5G-1 is protected by TLS keyed by K_AF). Clients open a
//! Ua* TLS 1.3-PSK session (K_AF plays the role of K5GMSG), the server knows them by the GPSI
//! of the key answer, and keeps each message durably until its recipient acknowledges it.
//!
//! | Module | Holds |
//! |---|---|
//! | [`store`] | the mailboxes in SQLite (WAL, `synchronous=FULL`, the group-commit writer) |
//! | [`api`] | the HTTP API, its bounds, and the one error→response mapping |
//! | [`metrics`] | messages stored, fetched, delivered, refused by reason |
//! | [`app`] | `akma msgin5g`: the AF SDK's settings and key source, plus the store |
//! | [`client`] | the UE side: connect over Ua* TLS-PSK, send, fetch, ack |
//! | [`demo`] | two UEs exchange a message through a running server |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod client;
pub mod demo;
pub mod metrics;
pub mod store;
