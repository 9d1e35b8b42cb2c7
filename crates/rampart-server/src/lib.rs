//! Rampart's HTTP API.
//!
//! [`App::build`] connects to the database, applies migrations and bootstraps a fresh
//! server; [`App::serve`] serves HTTP on a listener until a shutdown signal, finishing
//! in-flight requests. `rampart serve` and the test harness share both.

pub mod auth;
pub mod error;
mod middleware;
pub mod openapi;
mod routes;
pub mod state;
pub mod sync;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use rampart_store::{Bootstrap, DatabaseLocation, Store};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use axum;
pub use state::{AppState, ServerConfig};
use sync::{SecretKey, SyncService};

/// A migrated, bootstrapped server ready to serve.
pub struct App {
    state: AppState,
    /// Set only on the very first start: the admin key to show once.
    pub bootstrap: Option<Bootstrap>,
}

impl App {
    pub async fn build(config: ServerConfig) -> anyhow::Result<App> {
        let secret_key = match (&config.secret_key, &config.database) {
            (Some(key), _) => key.clone(),
            (None, DatabaseLocation::SqliteDir(dir)) => {
                std::fs::create_dir_all(dir)?;
                SecretKey::load_or_create(&dir.join("secret.key"))?
            }
            (None, DatabaseLocation::Postgres(_)) => anyhow::bail!(
                "PostgreSQL needs a server secret key shared by every replica: set --secret-key, \
                 RAMPART_SECRET_KEY or RAMPART_SECRET_KEY_FILE (32 bytes as 64 hex digits or \
                 base64, e.g. from `openssl rand -hex 32`); stored sync-source API keys are \
                 encrypted with it"
            ),
        };
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let bootstrap = store.bootstrap(&config.admin_email).await?;
        let sync = SyncService::new(store.clone(), config.sync.clone(), secret_key)?;
        Ok(App {
            state: AppState {
                store,
                config: Arc::new(config),
                sync,
            },
            bootstrap,
        })
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn router(&self) -> Router {
        router(self.state.clone(), Router::new())
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with_routes(listener, Router::new(), shutdown)
            .await
    }

    /// [`App::serve`] with `extra` routes mounted behind the same middleware: tests use it to
    /// exercise the error policy (panics, bodies) on the real stack.
    pub async fn serve_with_routes(
        self,
        listener: TcpListener,
        extra: Router<AppState>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = router(self.state.clone(), extra);
        let store = self.state.store.clone();
        let (stop_sync, sync_stopped) = tokio::sync::watch::channel(false);
        let sync = tokio::spawn(self.state.sync.clone().run(sync_stopped));
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop_sync.send(true);
        let _ = sync.await;
        store.close().await;
        served
    }
}

/// The routes and the OpenAPI document that describes them, built together so they cannot
/// drift: (public routes, routes needing a credential, document).
fn api_routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (public, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .split_for_parts();
    let (protected, protected_document) = OpenApiRouter::new()
        .routes(routes!(routes::me::me))
        .routes(routes!(
            routes::sync_sources::configure_sync_source,
            routes::sync_sources::list_sync_sources
        ))
        .routes(routes!(
            routes::sync_sources::get_sync_source,
            routes::sync_sources::delete_sync_source
        ))
        .routes(routes!(routes::sync_sources::run_sync_source))
        .routes(routes!(routes::sync_sources::list_sync_runs))
        .split_for_parts();
    document.merge(protected_document);
    (public, protected, document)
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_routes().2
}

pub fn router(state: AppState, extra: Router<AppState>) -> Router {
    let (public, protected, document) = api_routes();
    let protected = protected.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_principal,
    ));
    let document = Arc::new(document);
    let max_body = state.config.max_body_bytes;
    public
        .merge(protected)
        .merge(extra)
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route("/docs", get(openapi::docs_page))
        .route("/docs/errors", get(openapi::docs_page))
        .fallback(middleware::not_found)
        .with_state(state)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn(middleware::log_requests))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
