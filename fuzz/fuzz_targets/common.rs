//! A manager shared by every iteration of a target: in-memory store,
//! current-thread runtime, `ViaToken` anti-CSRF so that path is reached too.

use std::sync::OnceLock;

pub struct Harness {
    pub rt: tokio::runtime::Runtime,
    pub manager: tessera::SessionManager,
}

pub fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let manager = rt
            .block_on(
                tessera::SessionManager::builder()
                    .anti_csrf(tessera::AntiCsrfMode::ViaToken)
                    .background_tasks(false)
                    .build(),
            )
            .expect("manager");
        Harness { rt, manager }
    })
}
