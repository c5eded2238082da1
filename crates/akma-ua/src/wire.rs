//! Sans-I/O reader of the plaintext part of a TLS handshake (RFC 8446, RFC 5246, RFC 4279).
//! PLACEHOLDER: the API below is fixed; the implementation is being written.
