//! Writing and reading many rows per statement, the way each backend does it best.
//!
//! A batch is handed over column-wise ([`Column`]). PostgreSQL gets one array per column and
//! a statement whose text does not depend on the row count (`SELECT * FROM UNNEST($1::int8[],
//! …)`, `= ANY($1)`): parsed and planned once per connection, however many rows. SQLite has
//! no arrays and binds row-wise into multi-row `VALUES` lists and `IN (…)` lists, chunked
//! under its bound-parameter limit.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, FromRow, PgConnection, SqliteConnection};

use crate::Backend;

/// Largest number of bound parameters in one statement on both backends (SQLite's limit).
pub(crate) const MAX_PARAMETERS: usize = 32_766;

/// One column of a batch of rows, in row order.
pub(crate) enum Column<'a> {
    Int(Vec<i64>),
    OptionalInt(Vec<Option<i64>>),
    Text(Vec<&'a str>),
    OptionalText(Vec<Option<&'a str>>),
    OptionalFloat(Vec<Option<f64>>),
    Bool(Vec<bool>),
    Time(Vec<DateTime<Utc>>),
    OptionalTime(Vec<Option<DateTime<Utc>>>),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Int(values) => values.len(),
            Column::OptionalInt(values) => values.len(),
            Column::Text(values) => values.len(),
            Column::OptionalText(values) => values.len(),
            Column::OptionalFloat(values) => values.len(),
            Column::Bool(values) => values.len(),
            Column::Time(values) => values.len(),
            Column::OptionalTime(values) => values.len(),
        }
    }

    /// About the bytes of the column as a binary PostgreSQL array: a header, then each
    /// element's length and value.
    fn encoded_size(&self) -> usize {
        const HEADER: usize = 24;
        const LENGTH: usize = 4;
        let text = |value: Option<&str>| LENGTH + value.map_or(0, str::len);
        HEADER
            + match self {
                Column::Text(values) => values.iter().map(|v| text(Some(v))).sum(),
                Column::OptionalText(values) => values.iter().map(|v| text(*v)).sum(),
                Column::Bool(values) => values.len() * (LENGTH + 1),
                fixed => fixed.len() * (LENGTH + 8),
            }
    }

    /// The PostgreSQL array type the column is bound as.
    fn array_type(&self) -> &'static str {
        match self {
            Column::Int(_) | Column::OptionalInt(_) => "int8[]",
            Column::Text(_) | Column::OptionalText(_) => "text[]",
            Column::OptionalFloat(_) => "float8[]",
            Column::Bool(_) => "bool[]",
            Column::Time(_) | Column::OptionalTime(_) => "timestamptz[]",
        }
    }
}

/// The number of rows of `columns` (all columns hold the same number).
fn row_count(columns: &[Column<'_>]) -> usize {
    let rows = columns.first().map_or(0, Column::len);
    debug_assert!(columns.iter().all(|column| column.len() == rows));
    rows
}

/// Row after row of `rows`, each row's columns in column order.
fn sqlite_arguments<'q>(
    columns: &'q [Column<'q>],
    rows: std::ops::Range<usize>,
) -> Result<SqliteArguments<'q>, sqlx::Error> {
    let mut arguments = SqliteArguments::default();
    for row in rows {
        for column in columns {
            match column {
                Column::Int(values) => arguments.add(values[row]),
                Column::Text(values) => arguments.add(values[row]),
                Column::OptionalText(values) => arguments.add(values[row]),
                Column::OptionalFloat(values) => arguments.add(values[row]),
                Column::OptionalInt(values) => arguments.add(values[row]),
                Column::Bool(values) => arguments.add(values[row]),
                Column::Time(values) => arguments.add(values[row]),
                Column::OptionalTime(values) => arguments.add(values[row]),
            }
            .map_err(sqlx::Error::Encode)?;
        }
    }
    Ok(arguments)
}

/// Every column as one array.
fn pg_arguments(columns: &[Column<'_>]) -> Result<PgArguments, sqlx::Error> {
    let mut arguments = PgArguments::default();
    // The encoded size, so that megabytes of records are not copied while the buffer doubles.
    let bytes: usize = columns.iter().map(Column::encoded_size).sum();
    arguments.reserve(columns.len(), bytes);
    for column in columns {
        match column {
            Column::Int(values) => arguments.add(values.as_slice()),
            Column::Text(values) => arguments.add(values.as_slice()),
            Column::OptionalText(values) => arguments.add(values.as_slice()),
            Column::OptionalFloat(values) => arguments.add(values.as_slice()),
            Column::OptionalInt(values) => arguments.add(values.as_slice()),
            Column::Bool(values) => arguments.add(values.as_slice()),
            Column::Time(values) => arguments.add(values.as_slice()),
            Column::OptionalTime(values) => arguments.add(values.as_slice()),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
}

/// Rows per multi-row SQLite statement of `columns`.
fn sqlite_rows_per_statement(columns: &[Column<'_>]) -> usize {
    (MAX_PARAMETERS / columns.len().max(1)).max(1)
}

/// `head SELECT * FROM UNNEST($1::int8[], $2::text[], …) tail`.
fn unnest_insert(head: &str, columns: &[Column<'_>], tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + 32 + columns.len() * 16);
    sql.push_str(head);
    sql.push_str(" SELECT * FROM UNNEST(");
    for (index, column) in columns.iter().enumerate() {
        if index > 0 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&(index + 1).to_string());
        sql.push_str("::");
        sql.push_str(column.array_type());
    }
    sql.push(')');
    sql.push_str(tail);
    sql
}

/// Many-row statements on one connection (or transaction) of either backend.
pub(crate) trait Bulk {
    type Row: sqlx::Row;

    /// Inserts the rows of `columns` (in the order `head` names them): `head` is
    /// `INSERT INTO table (a, b, …)`, `tail` what follows the rows (an `ON CONFLICT` clause
    /// and/or `RETURNING …`). Returns what `RETURNING` returned, of every row.
    async fn insert_columns_returning<O>(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin;

    /// [`Bulk::insert_columns_returning`] without `RETURNING`.
    async fn insert_columns(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<(), sqlx::Error>;

    /// `select` (a `SELECT … WHERE column` missing its condition) for every value, e.g.
    /// `SELECT id FROM t WHERE name` → `… WHERE name IN (…)` / `… WHERE name = ANY($1)`.
    async fn select_in<O>(&mut self, select: &str, values: &[&str]) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin;

    /// `statement` (e.g. `DELETE FROM t WHERE id`, missing its condition) for every id.
    async fn execute_for_ids(&mut self, statement: &str, ids: &[i64]) -> Result<(), sqlx::Error>;

    /// `update` (`UPDATE t SET a = v.column2, …`) from the rows of `columns`, seen as `v` with
    /// columns `v.column1`, `v.column2`, … in column order, where `condition` holds (e.g.
    /// `t.id = v.column1`): one statement per batch instead of one per row.
    async fn update_from_columns(
        &mut self,
        update: &str,
        columns: &[Column<'_>],
        condition: &str,
    ) -> Result<(), sqlx::Error>;
}

/// `update FROM rows AS v(column1, …) WHERE condition`.
fn update_from(update: &str, rows: &str, condition: &str) -> String {
    format!("{update} FROM {rows} WHERE {condition}")
}

impl Bulk for SqliteConnection {
    type Row = sqlx::sqlite::SqliteRow;

    async fn insert_columns_returning<O>(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin,
    {
        let mut returned = Vec::new();
        for (sql, rows) in sqlite_insert_statements(head, columns, tail) {
            let arguments = sqlite_arguments(columns, rows)?;
            returned.extend(
                sqlx::query_as_with::<_, O, _>(&sql, arguments)
                    .fetch_all(&mut *self)
                    .await?,
            );
        }
        Ok(returned)
    }

    async fn insert_columns(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<(), sqlx::Error> {
        for (sql, rows) in sqlite_insert_statements(head, columns, tail) {
            let arguments = sqlite_arguments(columns, rows)?;
            sqlx::query_with(&sql, arguments)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }

    async fn select_in<O>(&mut self, select: &str, values: &[&str]) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin,
    {
        let mut selected = Vec::new();
        for chunk in values.chunks(MAX_PARAMETERS) {
            let sql = sqlite_in_list(select, chunk.len());
            let query = chunk
                .iter()
                .fold(sqlx::query_as::<_, O>(&sql), |query, value| {
                    query.bind(*value)
                });
            selected.extend(query.fetch_all(&mut *self).await?);
        }
        Ok(selected)
    }

    async fn execute_for_ids(&mut self, statement: &str, ids: &[i64]) -> Result<(), sqlx::Error> {
        for chunk in ids.chunks(MAX_PARAMETERS) {
            let sql = sqlite_in_list(statement, chunk.len());
            let query = chunk
                .iter()
                .fold(sqlx::query(&sql), |query, id| query.bind(*id));
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn update_from_columns(
        &mut self,
        update: &str,
        columns: &[Column<'_>],
        condition: &str,
    ) -> Result<(), sqlx::Error> {
        let rows = row_count(columns);
        let per_statement = sqlite_rows_per_statement(columns);
        for start in (0..rows).step_by(per_statement) {
            let end = rows.min(start + per_statement);
            let mut values = String::from("(VALUES ");
            push_value_rows(
                &mut values,
                &mut Placeholders::new(Backend::Sqlite),
                end - start,
                columns.len(),
            );
            values.push_str(") AS v");
            let sql = update_from(update, &values, condition);
            sqlx::query_with(&sql, sqlite_arguments(columns, start..end)?)
                .execute(&mut *self)
                .await?;
        }
        Ok(())
    }
}

/// The multi-row statements that insert `columns` on SQLite, each with the rows it binds.
fn sqlite_insert_statements(
    head: &str,
    columns: &[Column<'_>],
    tail: &str,
) -> Vec<(String, std::ops::Range<usize>)> {
    let rows = row_count(columns);
    let per_statement = sqlite_rows_per_statement(columns);
    (0..rows)
        .step_by(per_statement)
        .map(|start| {
            let end = rows.min(start + per_statement);
            let sql = multi_row_insert(Backend::Sqlite, head, end - start, columns.len()) + tail;
            (sql, start..end)
        })
        .collect()
}

/// `condition` (ending in a column) `IN (?, …)` for `n` values.
fn sqlite_in_list(condition: &str, n: usize) -> String {
    format!("{condition} IN ({})", placeholder_list(Backend::Sqlite, n))
}

impl Bulk for PgConnection {
    type Row = sqlx::postgres::PgRow;

    async fn insert_columns_returning<O>(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin,
    {
        if row_count(columns) == 0 {
            return Ok(Vec::new());
        }
        let sql = unnest_insert(head, columns, tail);
        sqlx::query_as_with::<_, O, _>(&sql, pg_arguments(columns)?)
            .fetch_all(&mut *self)
            .await
    }

    async fn insert_columns(
        &mut self,
        head: &str,
        columns: &[Column<'_>],
        tail: &str,
    ) -> Result<(), sqlx::Error> {
        if row_count(columns) == 0 {
            return Ok(());
        }
        let sql = unnest_insert(head, columns, tail);
        sqlx::query_with(&sql, pg_arguments(columns)?)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn select_in<O>(&mut self, select: &str, values: &[&str]) -> Result<Vec<O>, sqlx::Error>
    where
        O: for<'r> FromRow<'r, Self::Row> + Send + Unpin,
    {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("{select} = ANY($1)");
        sqlx::query_as::<_, O>(&sql)
            .bind(values)
            .fetch_all(&mut *self)
            .await
    }

    async fn execute_for_ids(&mut self, statement: &str, ids: &[i64]) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(&format!("{statement} = ANY($1)"))
            .bind(ids)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn update_from_columns(
        &mut self,
        update: &str,
        columns: &[Column<'_>],
        condition: &str,
    ) -> Result<(), sqlx::Error> {
        if row_count(columns) == 0 {
            return Ok(());
        }
        let mut rows = String::from("UNNEST(");
        let mut names = String::from(" AS v(");
        for (index, column) in columns.iter().enumerate() {
            if index > 0 {
                rows.push_str(", ");
                names.push_str(", ");
            }
            rows.push_str(&format!("${}::{}", index + 1, column.array_type()));
            names.push_str(&format!("column{}", index + 1));
        }
        rows.push(')');
        rows.push_str(&names);
        rows.push(')');
        let sql = update_from(update, &rows, condition);
        sqlx::query_with(&sql, pg_arguments(columns)?)
            .execute(&mut *self)
            .await?;
        Ok(())
    }
}

/// Writes bind parameters in statement order: `$1, $2, …` on PostgreSQL, anonymous `?` on
/// SQLite. (SQLite looks up every numbered or named parameter by a linear search when the
/// statement is prepared and bound, which is quadratic over a 30,000-parameter statement;
/// anonymous parameters are bound by position.)
pub(crate) struct Placeholders {
    backend: Backend,
    next: usize,
}

impl Placeholders {
    pub(crate) fn new(backend: Backend) -> Self {
        Placeholders { backend, next: 1 }
    }

    pub(crate) fn push(&mut self, sql: &mut String) {
        match self.backend {
            Backend::Sqlite => sql.push('?'),
            Backend::Postgres => {
                sql.push('$');
                sql.push_str(&self.next.to_string());
            }
        }
        self.next += 1;
    }
}

/// `INSERT … VALUES (…), (…)` for `rows` rows of `per_row` parameters each.
pub(crate) fn multi_row_insert(
    backend: Backend,
    head: &str,
    rows: usize,
    per_row: usize,
) -> String {
    let mut placeholders = Placeholders::new(backend);
    let mut sql = String::with_capacity(head.len() + rows * (per_row * 7 + 4));
    sql.push_str(head);
    sql.push_str(" VALUES ");
    push_value_rows(&mut sql, &mut placeholders, rows, per_row);
    sql
}

/// `(…),(…)`: `rows` rows of `per_row` parameters each, numbered on from `placeholders`.
fn push_value_rows(sql: &mut String, placeholders: &mut Placeholders, rows: usize, per_row: usize) {
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..per_row {
            if column > 0 {
                sql.push(',');
            }
            placeholders.push(sql);
        }
        sql.push(')');
    }
}

/// `INSERT … SELECT <shared>, v.column1, … FROM (VALUES (…), (…)) AS v`: the first columns of
/// `head` take `shared` (an empty entry is a parameter bound once, before the rows'; anything
/// else is SQL such as `TRUE`), the rest `per_row` parameters of each of `rows` rows. Rows then
/// bind only what differs between them.
pub(crate) fn values_insert(
    backend: Backend,
    head: &str,
    shared: &[&str],
    rows: usize,
    per_row: usize,
) -> String {
    let mut placeholders = Placeholders::new(backend);
    let mut sql = String::with_capacity(head.len() + 64 + rows * (per_row * 7 + 4));
    sql.push_str(head);
    sql.push_str(" SELECT ");
    for constant in shared {
        if constant.is_empty() {
            placeholders.push(&mut sql);
        } else {
            sql.push_str(constant);
        }
        sql.push_str(", ");
    }
    for column in 1..=per_row {
        if column > 1 {
            sql.push_str(", ");
        }
        sql.push_str("v.column");
        sql.push_str(&column.to_string());
    }
    sql.push_str(" FROM (VALUES ");
    push_value_rows(&mut sql, &mut placeholders, rows, per_row);
    sql.push_str(") AS v");
    sql
}

/// `$1,$2,…` (PostgreSQL) or `?,?,…` (SQLite) for an `IN (…)` list of `n` values.
pub(crate) fn placeholder_list(backend: Backend, n: usize) -> String {
    let mut placeholders = Placeholders::new(backend);
    let mut list = String::with_capacity(n * 4);
    for index in 0..n {
        if index > 0 {
            list.push(',');
        }
        placeholders.push(&mut list);
    }
    list
}

/// `a IN (1,2,3)` chunks of integer ids (stored ids, never input: inlined).
pub(crate) fn id_lists(ids: &[i64]) -> Vec<String> {
    ids.chunks(5_000)
        .map(|chunk| {
            chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}
