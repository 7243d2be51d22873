"""`edgec import`: read another product's configuration and write the .edge file that behaves as it did.

One module per source (nginx, ingress) reads it and says, with a diagnostic, what it could not
carry over; `edgetext` writes the language; `nginx_locations` is nginx's own location choice and
`ingress.pick` ingress-nginx's documented routing, which `check` holds each import to.
"""
