# Builds the seabridge binary into a small, non-root runtime image.
FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bridge ./cmd/bridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /usr/local/bin/bridge
COPY config.example.toml /etc/seabridge/bridge.toml
USER nonroot:nonroot
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/bridge"]
CMD ["run", "--config", "/etc/seabridge/bridge.toml"]
