//! The mail outbox: messages are inserted in the caller's transaction and
//! delivered by `run_worker`, at least once, retried with backoff.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio_util::sync::CancellationToken;

use super::{Mail, Mailer};
use crate::{backoff, db::bounded, error::AppResult};

groundwork_kernel::typed_id! {
    /// A message in the outbox.
    pub struct MailId = "Mail";
}

pub mod entity {
    pub use super::MailId;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "mail_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: MailId,
        pub to_address: String,
        pub subject: String,
        pub text_body: String,
        pub html_body: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        pub sent_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity};

/// Queues `mail` for `to`; pass the transaction of the change it reports.
pub async fn enqueue(conn: &impl ConnectionTrait, to: &str, mail: Mail) -> AppResult<()> {
    let now = Utc::now();
    Entity::insert(ActiveModel {
        id: Set(MailId::new()),
        to_address: Set(to.to_owned()),
        subject: Set(mail.subject),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// How long a claimed message is left alone before another worker may take
/// it up (a worker that died mid-send).
const LEASE: Duration = Duration::from_secs(300);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const BATCH: u64 = 20;

pub struct WorkerSettings {
    pub poll_interval: Duration,
    pub retry_base: Duration,
    /// Deadline on each statement: one that hangs must not stop the worker.
    pub statement_timeout: Duration,
}

/// Sends due messages until `shutdown`; safe to run on every replica.
pub async fn run_worker(
    db: DatabaseConnection,
    mailer: Arc<Mailer>,
    settings: WorkerSettings,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(e) = deliver_due(&db, &mailer, &settings).await {
            tracing::warn!(error = ?e, "mail outbox pass failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(settings.poll_interval) => {}
        }
    }
}

async fn deliver_due(
    db: &DatabaseConnection,
    mailer: &Mailer,
    settings: &WorkerSettings,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let limit = settings.statement_timeout;
    let due = Entity::find()
        .filter(Column::SentAt.is_null())
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(BATCH)
        .all(db);
    let due = bounded(limit, due).await?;
    for message in due {
        // Claim the message: only the worker whose update matches the
        // attempts it read goes on to send it.
        let claimed = Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(message.attempts + 1))
            .col_expr(Column::NextAttemptAt, Expr::value(now + LEASE))
            .filter(Column::Id.eq(message.id))
            .filter(Column::Attempts.eq(message.attempts))
            .filter(Column::SentAt.is_null())
            .exec(db);
        let claimed = bounded(limit, claimed).await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let mail = Mail {
            subject: message.subject.clone(),
            text: message.text_body.clone(),
            html: message.html_body.clone(),
        };
        let update = Entity::update_many().filter(Column::Id.eq(message.id));
        match mailer.send(&message.to_address, &mail).await {
            Ok(()) => {
                let sent = update
                    .col_expr(Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(Column::LastError, Expr::value(Option::<String>::None))
                    .exec(db);
                bounded(limit, sent).await?;
            }
            Err(error) => {
                let attempts = message.attempts + 1;
                let delay =
                    backoff::delay(settings.retry_base, attempts.max(0) as u32, MAX_BACKOFF);
                tracing::warn!(id = %message.id, attempts, ?delay, %error, "mail not delivered; will retry");
                let retry = update
                    .col_expr(Column::NextAttemptAt, Expr::value(Utc::now() + delay))
                    .col_expr(Column::LastError, Expr::value(error))
                    .exec(db);
                bounded(limit, retry).await?;
            }
        }
    }
    Ok(())
}
