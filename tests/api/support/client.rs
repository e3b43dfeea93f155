use serde_json::{Value, json};

/// A GraphQL client over real HTTP that keeps cookies like a browser, and
/// optionally sends a bearer token instead.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    http: reqwest::Client,
    bearer: Option<String>,
}

impl Client {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.to_owned(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            bearer: None,
        }
    }

    /// A client without cookies that authenticates with `Authorization: Bearer`.
    pub fn with_bearer(&self, token: &str) -> Self {
        let mut client = Self::new(&self.base_url);
        client.bearer = Some(token.to_owned());
        client
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub async fn gql(&self, query: &str, variables: Value) -> GqlResponse {
        self.post_json(&json!({ "query": query, "variables": variables }))
            .await
    }

    pub async fn post_json(&self, body: &Value) -> GqlResponse {
        let mut request = self.http.post(self.url("/graphql")).json(body);
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        GqlResponse::read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }
}

#[derive(Debug)]
pub struct GqlResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl GqlResponse {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self {
            status,
            headers,
            body,
        }
    }

    /// `data`, failing the test when the response has errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "expected no errors, got {}",
            self.body
        );
        &self.body["data"]
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The `extensions.code` of the first error, failing when there is none.
    pub fn code(&self) -> String {
        let errors = self.errors();
        let first = errors
            .first()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body));
        first["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("error without a code: {first}"))
            .to_owned()
    }

    pub fn first_error(&self) -> Value {
        self.errors()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body))
    }

    pub fn assert_code(&self, code: &str) {
        assert_eq!(self.code(), code, "response: {}", self.body);
    }
}
