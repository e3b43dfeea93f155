#!/bin/sh
# Fetches the vendored GraphiQL files from the npm registry at the pinned
# versions below and prints their sha256 sums for README.md. `npm pack`
# checks each tarball against the registry's integrity hash.
#
# To move to other versions: change them here, run this script, update the
# table in README.md, and look at /graphiql in a browser.
set -eu

GRAPHIQL=4.1.2
REACT=18.3.1

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
for spec in "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT"; do
    npm pack --silent "$spec" >/dev/null
done

# tarball, file in the package, where it goes under vendor/ or licenses/
take() {
    mkdir -p x && tar -xzf "$1" -C x "package/$2"
    mkdir -p "$here/$(dirname "$3")"
    cp "x/package/$2" "$here/$3"
    rm -rf x
}
take "graphiql-$GRAPHIQL.tgz" graphiql.min.js vendor/graphiql.min.js
take "graphiql-$GRAPHIQL.tgz" graphiql.min.css vendor/graphiql.min.css
take "graphiql-$GRAPHIQL.tgz" LICENSE licenses/graphiql.LICENSE
take "react-$REACT.tgz" umd/react.production.min.js vendor/react.production.min.js
take "react-$REACT.tgz" LICENSE licenses/react.LICENSE
take "react-dom-$REACT.tgz" umd/react-dom.production.min.js vendor/react-dom.production.min.js
take "react-dom-$REACT.tgz" LICENSE licenses/react-dom.LICENSE

cd "$here"
sha256sum vendor/* licenses/*
