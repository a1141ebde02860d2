# Production image of kundencenter (all subcommands in one static binary).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kundencenter ./cmd/kundencenter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kundencenter /kundencenter
USER nonroot
ENTRYPOINT ["/kundencenter"]
