//! SIGTERM and SIGINT from outside (in raw mode Ctrl-C is a key, not a signal): the one wait
//! both the event loop and the `s` shell listen with.

/// Resolves when stagescope is asked to end. Every caller gets its own listener: tokio
/// delivers each signal to all of them.
pub(crate) async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
