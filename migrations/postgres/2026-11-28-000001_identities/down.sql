DROP TABLE provider_flows;
DROP TABLE identities;
