//! Keyset pagination: "rows after this position" as one row-value comparison,
//! `(sort_key, id) > ($1, $2)` (or `<` when descending). PostgreSQL walks the `(sort_key, id)`
//! index from the position instead of filtering with an `OR`, and ties on the sort key are
//! broken by the id, so no row is skipped or repeated between pages.

use diesel::expression::{is_aggregate, AppearsOnTable, AsExpression, Expression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, SqlType};
use diesel::QueryResult;

#[derive(Debug, Clone, Copy)]
pub struct RowAfter<A, B, X, Y> {
    key: A,
    id: B,
    key_value: X,
    id_value: Y,
    descending: bool,
}

/// `(key, id)` strictly after `(key_value, id_value)` in the sort's direction.
pub fn after<A, B, X, Y>(
    key: A,
    id: B,
    key_value: X,
    id_value: Y,
    descending: bool,
) -> RowAfter<A, B, X::Expression, Y::Expression>
where
    A: Expression,
    B: Expression,
    A::SqlType: SqlType,
    B::SqlType: SqlType,
    X: AsExpression<A::SqlType>,
    Y: AsExpression<B::SqlType>,
{
    RowAfter { key, id, key_value: key_value.as_expression(), id_value: id_value.as_expression(), descending }
}

impl<A, B, X, Y> Expression for RowAfter<A, B, X, Y> {
    type SqlType = Bool;
}

impl<A, B, X, Y, QS> AppearsOnTable<QS> for RowAfter<A, B, X, Y>
where
    A: AppearsOnTable<QS>,
    B: AppearsOnTable<QS>,
    X: AppearsOnTable<QS>,
    Y: AppearsOnTable<QS>,
{
}

impl<A, B, X, Y, GB> ValidGrouping<GB> for RowAfter<A, B, X, Y> {
    type IsAggregate = is_aggregate::Never;
}

// The direction changes the SQL text, so the statement is not cached by type.
impl<A, B, X, Y> QueryId for RowAfter<A, B, X, Y> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<A, B, X, Y> QueryFragment<Pg> for RowAfter<A, B, X, Y>
where
    A: QueryFragment<Pg>,
    B: QueryFragment<Pg>,
    X: QueryFragment<Pg>,
    Y: QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(");
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id.walk_ast(out.reborrow())?;
        out.push_sql(if self.descending { ") < (" } else { ") > (" });
        self.key_value.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id_value.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}
