// Starts GraphiQL on this server's endpoints, which the page names in
// data attributes, so this file never changes with the configuration.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = new URL(root.dataset.endpoint, window.location.href);
  var subscriptions = new URL(root.dataset.subscriptionEndpoint, window.location.href);
  subscriptions.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

  // The session cookie goes with every request to this origin and no other.
  function sameOriginFetch(url, init) {
    return window.fetch(url, Object.assign({}, init, { credentials: 'same-origin' }));
  }

  // Subscriptions use graphql-ws (bundled in graphiql.min.js) over the
  // graphql-transport-ws protocol; the headers tab's values, such as
  // {"authorization": "Bearer …"}, become the connection_init payload.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.toString(),
    subscriptionUrl: subscriptions.toString(),
    fetch: sameOriginFetch,
  });

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      defaultQuery: '# Run with Ctrl-Enter.\n{\n  apiVersion\n}\n',
    })
  );
})();
