//! The five operations of a plain resource — one whose list is a text search and whose writes
//! have no rules beyond its fields' — written once. A resource invokes `crud_endpoints!` with its
//! names, scopes, wire types, use cases and the words of its documentation; the handlers, their
//! OpenAPI operations and their preconditions come out alike for every such resource.
//!
//! Type names (`Caller`, `AppState`, `SearchParams`, `IfMatch`, `JsonBody`, `Query`, `PageOf`,
//! `ApiResult`, `Uuid`, `web`, `HttpResponse`) resolve where the macro is invoked.

// rustfmt re-indents attribute arguments inside macro bodies on every run (never settling):
// this macro keeps its own layout.
#[rustfmt::skip]
macro_rules! crud_endpoints {
    (
        tag: $tag:literal, read: $read:literal, write: $write:literal,
        collection: $collection:literal, item: $item:literal, id: $id:ident, id_doc: $id_doc:literal,
        not_found: $not_found:literal, request: $request:ty, patch: $patch:ty, response: $response:ty,
        create: $create:ident = $app_create:path, [$create_summary:literal, $create_doc:literal, $created:literal, $location:literal, $create_conflict:literal $(,)?],
        list: $list:ident = $app_list:path, [$list_summary:literal, $list_doc:literal, $page:literal $(,)?],
        get: $get:ident = $app_get:path, [$get_summary:literal, $get_doc:literal, $one:literal $(,)?],
        update: $update:ident = $app_update:path, [$update_summary:literal, $update_doc:literal, $updated:literal, $update_conflict:literal $(,)?],
        delete: $delete:ident = $app_delete:path, [$delete_summary:literal, $delete_doc:literal, $in_use:literal $(,)?] $(,)?
    ) => {
        #[doc = $create_summary]
        #[doc = ""]
        #[doc = $create_doc]
        #[utoipa::path(
            security(("api_key" = [$write])),
            tag = $tag,
            request_body = $request,
            responses(
                (status = 201, description = $created, body = $response,
                    headers(("Location" = String, description = $location))),
                (status = 409, description = $create_conflict),
            )
        )]
        #[post($collection)]
        pub async fn $create(
            _caller: Caller,
            state: web::Data<AppState>,
            JsonBody(input): JsonBody<$request>,
        ) -> ApiResult<HttpResponse> {
            let created = $app_create(&state, input.into()).await?;
            Ok($crate::http::dto::created_tagged::<_, $response>(created.id.path(), created))
        }

        #[doc = $list_summary]
        #[doc = ""]
        #[doc = $list_doc]
        #[utoipa::path(
            security(("api_key" = [$read])),
            tag = $tag,
            params(SearchParams),
            responses((status = 200, description = $page, body = PageOf<$response>))
        )]
        #[get($collection)]
        pub async fn $list(
            _caller: Caller,
            state: web::Data<AppState>,
            Query(query): Query<SearchParams>,
        ) -> ApiResult<web::Json<PageOf<$response>>> {
            let page = $app_list(&state, query.search(), query.page()).await?;
            Ok(web::Json(PageOf::from_page(page, <$response>::from)))
        }

        #[doc = $get_summary]
        #[doc = ""]
        #[doc = $get_doc]
        #[utoipa::path(
            security(("api_key" = [$read])),
            tag = $tag,
            params(("id" = Uuid, Path, description = $id_doc)),
            responses(
                (status = 200, description = $one, body = $response),
                (status = 404, description = $not_found),
            )
        )]
        #[get($item)]
        pub async fn $get(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
            Ok($crate::http::dto::tagged::<_, $response>($app_get(&state, $id(*id)).await?))
        }

        #[doc = $update_summary]
        #[doc = ""]
        #[doc = $update_doc]
        #[utoipa::path(
            security(("api_key" = [$write])),
            tag = $tag,
            params(("id" = Uuid, Path, description = $id_doc), IfMatch),
            request_body = $patch,
            responses(
                (status = 200, description = $updated, body = $response),
                (status = 404, description = $not_found),
                (status = 409, description = $update_conflict),
            )
        )]
        #[patch($item)]
        pub async fn $update(
            _caller: Caller,
            state: web::Data<AppState>,
            id: web::Path<Uuid>,
            IfMatch(precondition): IfMatch,
            JsonBody(patch): JsonBody<$patch>,
        ) -> ApiResult<HttpResponse> {
            let updated = $app_update(&state, $id(*id), patch.into(), precondition).await?;
            Ok($crate::http::dto::tagged::<_, $response>(updated))
        }

        #[doc = $delete_summary]
        #[doc = ""]
        #[doc = $delete_doc]
        #[utoipa::path(
            security(("api_key" = [$write])),
            tag = $tag,
            params(("id" = Uuid, Path, description = $id_doc), IfMatch),
            responses(
                (status = 204, description = "Deleted"),
                (status = 404, description = $not_found),
                (status = 409, description = $in_use),
            )
        )]
        #[delete($item)]
        pub async fn $delete(
            _caller: Caller,
            state: web::Data<AppState>,
            id: web::Path<Uuid>,
            IfMatch(precondition): IfMatch,
        ) -> ApiResult<HttpResponse> {
            $app_delete(&state, $id(*id), precondition).await?;
            Ok($crate::http::dto::no_content())
        }
    };
}
pub(crate) use crud_endpoints;
