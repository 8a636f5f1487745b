-- 0007: a fit's PSP keeps its sign.
-- psp_at_fit_mV and psp_fine_dt_mV held |PSP|. They now hold the PSP
-- with its sign, as a point's psp_mV does and as the psp_at_fit_mV of
-- the reference output (Dendrify + Brian 2) does: negative for a
-- hyperpolarising PSP, whose target_psp_mV stays its magnitude. A fit
-- recorded before takes the sign of its evaluation nearest its g (its
-- evaluations are its run's points of that pathway, in point_rows); a
-- fit without one (none ran, psp_at_fit_mV 0) stays as it is.
UPDATE fits SET
	psp_at_fit_mV = -psp_at_fit_mV,
	psp_fine_dt_mV = -psp_fine_dt_mV
WHERE psp_at_fit_mV > 0 AND (
	SELECT p.psp_mV FROM point_rows p
	WHERE p.run_id = fits.run_id AND p.pathway = fits.pathway
		AND p.status = 'ok' AND p.psp_mV IS NOT NULL
	ORDER BY abs(p.g_nS - json_extract(fits.g_fit_nS, '$[0]')), p.id DESC
	LIMIT 1) < 0;
