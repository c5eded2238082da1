//! The OpenSSL calls rust-openssl does not bind. The only unsafe code of the project.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::raw::{c_char, c_int};

use openssl::ssl::SslContextBuilder;

extern "C" {
    // OpenSSL 1.1.1+/3.x, libssl (linked through openssl-sys).
    fn SSL_CTX_use_psk_identity_hint(ctx: *mut openssl_sys::SSL_CTX, hint: *const c_char) -> c_int;
}

/// Sets the TLS 1.2 PSK identity hint the server sends in its ServerKeyExchange
/// (TS 24.109 K.3: `3GPP-AKMA`).
pub(crate) fn set_psk_identity_hint(ctx: &mut SslContextBuilder, hint: &str) -> bool {
    let Ok(c) = CString::new(hint) else {
        return false;
    };
    // SAFETY: `ctx.as_ptr()` is a valid SSL_CTX owned by the builder for the whole call;
    // OpenSSL copies the NUL-terminated string (it does not keep the pointer).
    unsafe { SSL_CTX_use_psk_identity_hint(ctx.as_ptr(), c.as_ptr()) == 1 }
}

/// Lets OpenSSL choose the finite-field DH group for DHE-PSK suites by the suite's strength
/// (RFC 7919 groups; `SSL_CTX_set_dh_auto`).
pub(crate) fn set_dh_auto(ctx: &mut SslContextBuilder) -> bool {
    // SAFETY: a valid SSL_CTX owned by the builder; the call only sets a flag on it.
    unsafe { openssl_sys::SSL_CTX_set_dh_auto(ctx.as_ptr(), 1) == 1 }
}

extern "C" {
    // OpenSSL 1.1.0+: the cipher chosen in the ServerHello, before it becomes current.
    fn SSL_get_pending_cipher(ssl: *const openssl_sys::SSL) -> *const openssl_sys::SSL_CIPHER;
}

/// The IANA code of the suite the handshake in progress negotiated (the client knows it once
/// it has read the ServerHello; `SSL_get_current_cipher` is only set later).
pub(crate) fn pending_cipher_code(ssl: &openssl::ssl::SslRef) -> Option<u16> {
    use foreign_types::ForeignTypeRef;
    // SAFETY: `ssl.as_ptr()` is a live SSL for the duration of the borrow; the returned
    // SSL_CIPHER is a static table entry (or NULL), only read here.
    unsafe {
        let c = SSL_get_pending_cipher(ssl.as_ptr());
        if c.is_null() {
            None
        } else {
            Some(openssl_sys::SSL_CIPHER_get_protocol_id(c))
        }
    }
}
