-- A models.deploy command names the .onnx it deployed by its sha256 (the gateway fills it
-- in), so the read model says which model a deployment served, not only its folder. Empty
-- for the commands before, and for those published without it.
alter table model_deployments add column sha256 text not null default '';

---- create above / drop below ----

alter table model_deployments drop column sha256;
