package client

// The generated half of the client comes from the API description by
// oapi-codegen, pinned in go.mod's tool directive so that it runs offline
// from the module cache.
//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../api/openapi.yaml
