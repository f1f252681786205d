"""qualcode: offline coding of Dutch interview and focus-group transcripts.

The public API is plain functions over a :class:`~qualcode.store.Project`; the ``qualcode``
command line is a thin layer over the same functions. Heavy libraries (spaCy, pandas,
scikit-learn, BERTopic) are imported inside the functions that need them, so importing this
package is cheap.
"""

__version__ = "0.1.0"
