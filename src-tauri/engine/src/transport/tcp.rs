//! The TCP connection IMAP and SMTP run on, tuned against two 40 ms
//! stalls of TCP's own making: Nagle's algorithm is off, so a small write
//! (SMTP's closing dot after each message) goes out at once; and while it
//! waits for the server, what arrived meanwhile is acknowledged at once.
//! The second is for servers that write twice without waiting (a TLS 1.3
//! server's session tickets, then its answer) with Nagle's algorithm on:
//! they hold the answer until the first write is acknowledged, which this
//! side's kernel would delay by up to 40 ms. Seen on 3 of 4 SMTP
//! connections to Postfix, right after STARTTLS.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{CONNECT_TIMEOUT, TransportError};

#[derive(Debug)]
pub struct Tcp(TcpStream);

/// Opens a TCP connection, telling "unreachable" apart from everything else.
pub(super) async fn connect(server: &str, host: &str, port: u16) -> Result<Tcp, TransportError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => {
            s.set_nodelay(true)
                .map_err(|e| TransportError::Unreachable {
                    server: server.into(),
                    detail: format!("the connection cannot be set up: {e}"),
                })?;
            Ok(Tcp(s))
        }
        Ok(Err(e)) => Err(TransportError::Unreachable {
            server: server.into(),
            detail: e.to_string(),
        }),
        Err(_) => Err(TransportError::Unreachable {
            server: server.into(),
            detail: "no answer in time".into(),
        }),
    }
}

impl Tcp {
    pub fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }

    /// Sends now an acknowledgement the kernel was holding back, and
    /// leaves its interactive mode, where it holds them back.
    fn ack_at_once(&self) {
        #[cfg(target_os = "linux")]
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.0).poll_read(cx, buf);
        if read.is_pending() {
            this.ack_at_once();
        }
        read
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    /// Without this, every SMTP message waited for the server's delayed
    /// ACK before its closing dot.
    #[tokio::test]
    async fn small_writes_go_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stream = super::connect("test server", "127.0.0.1", port)
            .await
            .unwrap();
        assert!(stream.0.nodelay().unwrap(), "Nagle's algorithm is off");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn waiting_for_the_server_acknowledges_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut stream = super::connect("test server", "127.0.0.1", port)
            .await
            .unwrap();
        let _server = listener.accept().await.unwrap();
        let sock = socket2::SockRef::from(&stream.0);
        // The kernel's interactive mode, in which it delays them.
        sock.set_tcp_quickack(false).unwrap();
        assert!(!sock.tcp_quickack().unwrap());
        let mut byte = [0u8; 1];
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut byte))
                .await;
        assert!(waited.is_err(), "the server sent nothing");
        assert!(
            socket2::SockRef::from(&stream.0).tcp_quickack().unwrap(),
            "a read that waits leaves acknowledgements undelayed"
        );
    }
}
