//! Rampart's HTTP API.
//!
//! [`App::build`] connects to the database, applies migrations and bootstraps a fresh
//! server; [`App::serve`] serves HTTP on a listener until a shutdown signal, finishing
//! in-flight requests. `rampart serve` and the test harness share both.

mod appsec_bodies;
pub mod auth;
mod bodies;
mod document_download;
pub mod error;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod request_log;
mod routes;
pub mod state;
mod strict_json;
mod upload;
pub mod usage;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use rampart_engine::Engine;
use rampart_store::{Bootstrap, Store};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use axum;
pub use rampart_engine::{Clock, PlanLimits, Plans, ServerConfig};
pub use state::AppState;

/// A migrated, bootstrapped server ready to serve.
pub struct App {
    state: AppState,
    /// Set only on the very first start: the admin key to show once.
    pub bootstrap: Option<Bootstrap>,
}

impl App {
    pub async fn build(config: ServerConfig) -> anyhow::Result<App> {
        // Installed before anything records: the engine's workers record too.
        metrics::handle();
        let request_log = Arc::new(request_log::RequestLog::new(config.request_log.clone()));
        let (engine, bootstrap) = Engine::start(config).await?;
        Ok(App {
            state: AppState {
                engine,
                rate_limiter: Arc::default(),
                key_usage: Arc::default(),
                request_log,
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

    /// The separate metrics listener's routes (`--metrics-listen`): `GET /metrics`, no
    /// credentials.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics::unauthenticated))
            .with_state(self.state.clone())
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
        let workers = self.state.start_workers();
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let (stop_log, log_stopped) = tokio::sync::watch::channel(false);
        let log_writer = tokio::spawn(
            Arc::clone(&self.state.request_log).run_writer(self.state.store.clone(), log_stopped),
        );
        let log_pruner = tokio::spawn(
            Arc::clone(&self.state.request_log)
                .run_pruner(self.state.store.clone(), self.state.config.clock.clone()),
        );
        let served = serve_connections(
            listener,
            router,
            self.state.config.header_read_timeout,
            shutdown,
        )
        .await;
        housekeeping.abort();
        log_pruner.abort();
        // The request log's buffer is written before the pool closes.
        let _ = stop_log.send(true);
        let _ = log_writer.await;
        workers.stop().await;
        // Usage counted since the last flush is written before the pool closes.
        let state = self.state;
        state.key_usage.flush(&state.store).await;
        state.store.close().await;
        served
    }
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` resolves, then stops
/// accepting and waits for open connections to finish their requests. A connection that
/// has not sent a request's headers within `header_read_timeout` (including an idle
/// keep-alive one) is closed: slow clients cannot hold connections open.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    header_read_timeout: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::Service;
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = match make_service.call(remote).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection = builder.serve_connection(
            hyper_util::rt::TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Writes batched key usage every `usage_flush_interval` and purges old rate-limit windows.
async fn housekeeping(state: AppState) {
    let mut ticker = tokio::time::interval(state.config.usage_flush_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = state.now();
    loop {
        ticker.tick().await;
        state.key_usage.flush(&state.store).await;
        let now = state.now();
        if now - last_purge >= chrono::Duration::seconds(60) {
            state.rate_limiter.purge(&state.store, now).await;
            last_purge = now;
        }
    }
}

/// The routes and the OpenAPI document that describes them, built together so they cannot
/// drift: (public routes, routes needing a credential, document).
fn api_routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (public, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::auth::request_otp))
        .routes(routes!(routes::auth::verify_otp))
        .routes(routes!(routes::disclosures::public_index))
        .routes(routes!(routes::disclosures::public_download))
        .routes(routes!(routes::disclosures::csaf_provider_metadata))
        .routes(routes!(routes::disclosures::csaf_index))
        .routes(routes!(routes::disclosures::csaf_changes))
        .routes(routes!(routes::disclosures::csaf_file))
        .routes(routes!(
            routes::notifications::unsubscribe_link,
            routes::notifications::unsubscribe_one_click
        ))
        .split_for_parts();
    let (protected, mut protected_document) = OpenApiRouter::new()
        .routes(routes!(routes::me::me))
        .routes(routes!(
            routes::notifications::get_preferences,
            routes::notifications::set_preferences
        ))
        .routes(routes!(
            routes::alerts::create_alert,
            routes::alerts::list_alerts
        ))
        .routes(routes!(
            routes::alerts::get_alert,
            routes::alerts::update_alert,
            routes::alerts::delete_alert
        ))
        .routes(routes!(routes::alerts::list_alert_matches))
        .routes(routes!(
            routes::scans::start_scan,
            routes::scans::list_scans
        ))
        .routes(routes!(routes::scans::start_host_scan))
        .routes(routes!(routes::scans::export_scans))
        .routes(routes!(routes::scans::get_scan))
        .routes(routes!(routes::scans::rescan))
        .routes(routes!(routes::scans::scan_diff))
        .routes(routes!(routes::scans::export_scan))
        .routes(routes!(
            routes::scans::create_monitor,
            routes::scans::list_monitors
        ))
        .routes(routes!(
            routes::scans::get_monitor,
            routes::scans::delete_monitor
        ))
        .routes(routes!(routes::scans::usage_quotas))
        .routes(routes!(routes::scans::seed_scan))
        .routes(routes!(routes::scans::seed_rescan))
        .routes(routes!(routes::scans::seed_export))
        .routes(routes!(routes::scans::seed_threat_scan))
        .routes(routes!(routes::scans::seed_threat_scan_status))
        .routes(routes!(routes::kb::list_vulnerabilities))
        .routes(routes!(routes::kb::get_vulnerability))
        .routes(routes!(routes::kb::catalog_products))
        .routes(routes!(routes::kb::kb_status))
        .routes(routes!(routes::kb::export::kb_export))
        .routes(routes!(routes::kb::export::kb_export_ecosystem))
        .routes(routes!(routes::kb::export::vulnerabilities_export))
        .routes(routes!(routes::kb::export::product_cves_export))
        .routes(routes!(routes::kb::seed::product_cves))
        .routes(routes!(routes::kb::seed::get_exploits))
        .routes(routes!(routes::kb::osv::query))
        .routes(routes!(routes::kb::osv::querybatch))
        .routes(routes!(routes::kb::osv::get_vuln))
        .routes(routes!(
            routes::products::create_product,
            routes::products::list_products
        ))
        .routes(routes!(
            routes::products::get_product,
            routes::products::update_product,
            routes::products::delete_product
        ))
        .routes(routes!(
            routes::releases::create_release,
            routes::releases::list_releases
        ))
        .routes(routes!(
            routes::releases::get_release,
            routes::releases::update_release,
            routes::releases::delete_release
        ))
        .routes(routes!(
            routes::sboms::upload_sbom,
            routes::sboms::list_sboms
        ))
        .routes(routes!(routes::sboms::get_sbom, routes::sboms::delete_sbom))
        .routes(routes!(routes::sboms::download_sbom))
        .routes(routes!(routes::sboms::list_components))
        .routes(routes!(routes::analyses::get_analysis))
        .routes(routes!(routes::findings::release_vulnerabilities))
        .routes(routes!(routes::findings::release_vulnerabilities_export))
        .routes(routes!(routes::findings::product_summary))
        .routes(routes!(routes::findings::finding_events))
        .routes(routes!(routes::events::list_events))
        .routes(routes!(routes::events::get_event))
        .routes(routes!(
            routes::webhooks::create_webhook,
            routes::webhooks::list_webhooks
        ))
        .routes(routes!(
            routes::webhooks::get_webhook,
            routes::webhooks::update_webhook,
            routes::webhooks::delete_webhook
        ))
        .routes(routes!(routes::webhooks::rotate_webhook_secret))
        .routes(routes!(routes::webhooks::test_webhook))
        .routes(routes!(routes::webhooks::list_deliveries))
        .routes(routes!(routes::webhooks::get_delivery))
        .routes(routes!(routes::webhooks::redeliver_delivery))
        .routes(routes!(
            routes::webhooks::seed_create_webhook,
            routes::webhooks::seed_list_webhooks
        ))
        .routes(routes!(
            routes::webhooks::seed_get_webhook,
            routes::webhooks::seed_update_webhook,
            routes::webhooks::seed_delete_webhook
        ))
        .routes(routes!(routes::webhooks::seed_rotate_webhook_secret))
        .routes(routes!(routes::webhooks::seed_test_webhook))
        .routes(routes!(routes::webhooks::seed_list_deliveries))
        .routes(routes!(routes::webhooks::seed_get_delivery))
        .routes(routes!(routes::webhooks::seed_redeliver_delivery))
        .routes(routes!(routes::dispositions::decide_release))
        .routes(routes!(routes::dispositions::decide_product))
        .routes(routes!(routes::dispositions::finding_history))
        .routes(routes!(routes::dispositions::trigger_release))
        .routes(routes!(routes::dispositions::trigger_sbom))
        .routes(routes!(
            routes::vex_imports::import_vex,
            routes::vex_imports::list_vex_imports
        ))
        .routes(routes!(
            routes::seed_products::list_products,
            routes::seed_products::create_product
        ))
        .routes(routes!(
            routes::seed_products::get_product,
            routes::seed_products::update_product,
            routes::seed_products::delete_product
        ))
        .routes(routes!(
            routes::seed_products::get_release,
            routes::seed_products::update_release,
            routes::seed_products::delete_release
        ))
        .routes(routes!(
            routes::seed_products::list_releases,
            routes::seed_products::create_release
        ))
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
        .routes(routes!(routes::auth::logout))
        .routes(routes!(routes::api_keys::create, routes::api_keys::list))
        .routes(routes!(routes::api_keys::revoke))
        .routes(routes!(routes::api_keys::rotate))
        .routes(routes!(routes::seed_api_keys::create))
        .routes(routes!(routes::seed_api_keys::list))
        .routes(routes!(routes::seed_api_keys::revoke))
        .routes(routes!(routes::seed_api_keys::rotate))
        .routes(routes!(
            routes::teams::list_teams,
            routes::teams::create_team
        ))
        .routes(routes!(
            routes::teams::list_members,
            routes::teams::invite_member
        ))
        .routes(routes!(
            routes::teams::remove_member,
            routes::teams::change_member_role
        ))
        .routes(routes!(
            routes::teams::get_settings,
            routes::teams::update_settings
        ))
        .routes(routes!(routes::teams::set_plan))
        .routes(routes!(routes::usage::report))
        .routes(routes!(routes::usage::requests))
        .routes(routes!(metrics::operator))
        .routes(routes!(routes::audit::list))
        .routes(routes!(routes::audit::export))
        .routes(routes!(
            routes::integrations::create_integration,
            routes::integrations::list_integrations
        ))
        .routes(routes!(
            routes::integrations::get_integration,
            routes::integrations::update_integration,
            routes::integrations::delete_integration
        ))
        .routes(routes!(routes::integrations::test_connection))
        .routes(routes!(routes::integrations::discover_repositories))
        .routes(routes!(routes::integrations::upload_sarif))
        .routes(routes!(routes::integrations::list_imports))
        .routes(routes!(routes::integrations::get_import))
        .routes(routes!(
            routes::seed_integrations::list_integrations,
            routes::seed_integrations::create_integrations
        ))
        .routes(routes!(
            routes::seed_integrations::get_integrations,
            routes::seed_integrations::put_integrations,
            routes::seed_integrations::patch_integrations,
            routes::seed_integrations::delete_integrations
        ))
        .routes(routes!(
            routes::seed_integrations::list_data_sources,
            routes::seed_integrations::create_data_sources
        ))
        .routes(routes!(
            routes::seed_integrations::get_data_sources,
            routes::seed_integrations::put_data_sources,
            routes::seed_integrations::patch_data_sources,
            routes::seed_integrations::delete_data_sources
        ))
        .routes(routes!(routes::code_findings::list_findings))
        .routes(routes!(
            routes::code_findings::get_sla,
            routes::code_findings::set_sla
        ))
        .routes(routes!(routes::code_findings::get_code_finding))
        .routes(routes!(routes::code_findings::triage_code_finding))
        .routes(routes!(routes::code_findings::code_finding_history))
        .routes(routes!(
            routes::incidents::create_incident,
            routes::incidents::list_incidents
        ))
        .routes(routes!(routes::incidents::seed_create_incident))
        .routes(routes!(routes::incidents::seed_get_incident))
        .routes(routes!(
            routes::incidents::get_incident,
            routes::incidents::update_incident
        ))
        .routes(routes!(routes::incidents::set_incident_status))
        .routes(routes!(routes::incidents::add_incident_comment))
        .routes(routes!(routes::incidents::incident_timeline))
        .routes(routes!(routes::incidents::add_incident_link))
        .routes(routes!(routes::incidents::incident_metrics))
        .routes(routes!(
            routes::incidents::get_incident_settings,
            routes::incidents::set_incident_settings
        ))
        .routes(routes!(routes::vex_documents::generate_for_release))
        .routes(routes!(routes::vex_documents::generate_for_product))
        .routes(routes!(routes::vex_documents::list_documents))
        .routes(routes!(
            routes::vex_documents::get_document,
            routes::vex_documents::update_document,
            routes::vex_documents::delete_document
        ))
        .routes(routes!(routes::vex_documents::document_content))
        .routes(routes!(routes::vex_documents::document_events))
        .routes(routes!(routes::vex_documents::submit_document))
        .routes(routes!(routes::vex_documents::approve_document))
        .routes(routes!(routes::vex_documents::reject_document))
        .routes(routes!(routes::vex_documents::publish_document))
        .routes(routes!(
            routes::vex_documents::get_vex_settings,
            routes::vex_documents::update_vex_settings
        ))
        .routes(routes!(routes::compliance::get_posture))
        .routes(routes!(routes::compliance::seed_posture))
        .routes(routes!(routes::compliance::posture_history))
        .routes(routes!(routes::compliance::download_report))
        .routes(routes!(
            routes::compliance::get_compliance_settings,
            routes::compliance::set_compliance_settings
        ))
        .routes(routes!(
            routes::compliance::create_attestation,
            routes::compliance::list_attestations
        ))
        .routes(routes!(
            routes::compliance::get_attestation,
            routes::compliance::withdraw_attestation
        ))
        .routes(routes!(
            routes::compliance::upload_evidence,
            routes::compliance::download_evidence
        ))
        .routes(routes!(
            routes::compliance::create_access_review,
            routes::compliance::list_access_reviews
        ))
        .routes(routes!(routes::disclosures::list_disclosures))
        .routes(routes!(routes::disclosures::get_disclosure))
        .routes(routes!(routes::disclosures::download_disclosure))
        .routes(routes!(
            routes::disclosures::get_distribution,
            routes::disclosures::set_distribution
        ))
        .split_for_parts();
    openapi::add_common_responses(&mut document, false);
    openapi::add_common_responses(&mut protected_document, true);
    document.merge(protected_document);
    openapi::refer_generic_arguments(&mut document);
    openapi::bound_pagination(&mut document);
    openapi::overlapping_untagged_as_any_of(&mut document);
    (public, protected, document)
}

/// The OpenAPI document served at `/api/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api_routes().2
}

pub fn router(state: AppState, extra: Router<AppState>) -> Router {
    let (public, protected, document) = api_routes();
    let protected = protected.route_layer(axum::middleware::from_fn(auth::require_principal));
    let document = Arc::new(document);
    let max_body = state.config.max_body_bytes;
    public
        .merge(protected)
        .merge(extra)
        .merge(web::routes(&state))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .route("/docs", get(openapi::docs_page))
        .route("/docs/errors", get(openapi::docs_page))
        // Every route's template, for the request log and the metrics.
        .route_layer(axum::middleware::from_fn(request_log::tag_route))
        .fallback(middleware::not_found)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::body_deadline,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // Authentication and rate limiting: outside the panic guard, so every response
        // (panics and unknown routes too) carries the X-RateLimit-* headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
        ))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        // Outside the error rewriting: logs the status and bytes the client gets.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::record_request,
        ))
        .layer(axum::middleware::from_fn(middleware::log_requests))
        .layer(axum::middleware::from_fn_with_state(
            state,
            middleware::security_headers,
        ))
        // gzip for clients that ask (browsers): outside everything that reads or rewrites a
        // body. Archives and PDFs are compressed already.
        .layer(
            CompressionLayer::new().compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("application/zip"))
                    .and(NotForContentType::const_new("application/pdf")),
            ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
