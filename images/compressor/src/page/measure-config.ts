// What the delivery's page tells its measuring tool about the model's frame (from the SfM stage's
// georeference): whether distances are metres, whether north is known, and where the site is.
export type MeasureConfig = {
  /** Distances in the model are metres (a good GPS fit): units are shown. */
  metric: boolean;
  /** The model's axes are east-north-up from GPS: the north arrow is shown. */
  northKnown: boolean;
  /** The site's latitude and longitude (the model's ENU origin), when georeferenced. */
  site: { lat: number; lon: number } | null;
  /** Why distances are relative, when they are (shown in place of units). */
  relativeReason: string | null;
};

/** The id of the page's JSON block that holds the MeasureConfig. */
export const MEASURE_CONFIG_ID = "spaceport-measure";
