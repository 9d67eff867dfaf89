"""Contract state and amounts in force (`contratos`, `montantes_vigentes`)."""
