# Builds the seabridge binary into a small, non-root runtime image.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bridge ./cmd/bridge
# The spool's directory, owned by nonroot: an empty named volume mounted there takes the
# directory's owner, so that the bridge can write its spool (docker-compose.yml).
RUN mkdir -p /out/state/spool

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /usr/local/bin/bridge
COPY config.example.toml /etc/seabridge/bridge.toml
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/seabridge/
USER nonroot:nonroot
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["run", "--config", "/etc/seabridge/bridge.toml"]
