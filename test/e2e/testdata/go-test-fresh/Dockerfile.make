# As Dockerfile, with go test run by make, where hoist cannot add -count=1
# to its words: GOFLAGS carries it.
FROM golang:1.26 AS test
WORKDIR /src
ARG FLAVOR
RUN echo "$FLAVOR" > /etc/flavor
COPY . .
RUN make test
